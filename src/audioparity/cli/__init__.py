"""Command-line interface: thin layers over the Python API, one module per command group."""
