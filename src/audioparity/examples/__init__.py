"""The demo's model pair: a real PyTorch reference and a NumPy port of it.

``reference`` builds a tiny text-to-audio model (transformers ``Qwen3ForCausalLM`` + a
Vocos-style ISTFT vocoder head, random weights, fixed seed); ``numpy_port`` re-implements
its forward pass in plain NumPy and can plant the bugs real ports had (seed 000).
"""
