"""Dataset factory: notes, open datasets and API models in; reviewed, versioned SFT data out."""

__version__ = "0.1.0"
