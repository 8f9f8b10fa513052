"""llama.cpp as a trace source: a GGUF model run through llama-cpp-python, every graph node
recorded under llama.cpp's own names (extra ``llamacpp``).

See :func:`capture_llamacpp` and docs/llamacpp.md.
"""

from .capture import LlamaCppCapture, capture_llamacpp

__all__ = ["LlamaCppCapture", "capture_llamacpp"]
