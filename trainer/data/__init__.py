"""Training and evaluation data: labelled folders, labels manifests, benchmark layouts,
transforms, datasets."""

from trainer.data.folder import ImageList, scan_labelled_folder, split_classes
from trainer.data.manifest import read_labels_manifest

__all__ = ["ImageList", "read_labels_manifest", "scan_labelled_folder", "split_classes"]
