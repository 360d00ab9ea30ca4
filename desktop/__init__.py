"""photo-search: find photos by example with a Vision Transformer descriptor model."""

__version__ = "0.1.0"
APP_NAME = "photo-search"
