"""The window's logic without its widgets: each controller owns one flow's state, runs the
engine in the worker pool and reports through signals; none knows the window or a widget."""
