"""Connectors: each turns one kind of source into `Sample`s and never writes the store itself."""
