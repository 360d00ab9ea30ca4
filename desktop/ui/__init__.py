"""The PySide6 GUI: widgets and workers over desktop.core, no search logic of its own."""
