"""audioparity: find where a port of a neural audio model diverges from its PyTorch reference, and why."""

__version__ = "0.1.0"
