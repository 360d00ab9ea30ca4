"""Small text formats the window's parts share."""

from __future__ import annotations


def fmt_eta(seconds: float | None) -> str:
    """'ETA 2:05' for a time left in seconds; empty when it is not known."""
    if seconds is None:
        return ""
    return f"ETA {int(seconds // 60)}:{int(seconds % 60):02d}"
