"""The photo-search trainer: fine-tunes a timm ViT for retrieval and exports it to ONNX."""
