"""gillint: find the mistakes people make around the GIL before the code runs."""

__version__ = "0.1.0"
