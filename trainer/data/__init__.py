"""Training and evaluation data: labelled folders, benchmark layouts, transforms, datasets."""

from trainer.data.folder import ImageList, scan_labelled_folder, split_classes

__all__ = ["ImageList", "scan_labelled_folder", "split_classes"]
