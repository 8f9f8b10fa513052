"""Trace sources: what produces traces (torch capture, ONNX Runtime, MLX capture)."""
