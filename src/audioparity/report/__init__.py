"""Reports: the validation table for terminals, JSON and HTML for files."""
