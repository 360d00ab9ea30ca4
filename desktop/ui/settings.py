"""User settings, kept in an INI file in the config folder (QSettings)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

DEFAULT_THUMBNAIL_SIZE = 150
DEFAULT_RESULT_COUNT = 60


class Settings:
    def __init__(self, config_dir: Path) -> None:
        self._store = QSettings(str(config_dir / "settings.ini"), QSettings.Format.IniFormat)

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self._store.value(key, default))
        except (TypeError, ValueError):
            return default

    def _text(self, key: str) -> str | None:
        """A text setting; None when unset or empty."""
        return str(self._store.value(key, "")) or None

    def _set_text(self, key: str, value: str | None) -> None:
        self._store.setValue(key, value or "")

    @property
    def thumbnail_size(self) -> int:
        return max(64, min(512, self._int("view/thumbnail_size", DEFAULT_THUMBNAIL_SIZE)))

    @thumbnail_size.setter
    def thumbnail_size(self, value: int) -> None:
        self._store.setValue("view/thumbnail_size", int(value))

    @property
    def result_count(self) -> int:
        return max(1, self._int("search/result_count", DEFAULT_RESULT_COUNT))

    @result_count.setter
    def result_count(self, value: int) -> None:
        self._store.setValue("search/result_count", int(value))

    @property
    def threads(self) -> int:
        """Inference threads; 0 lets onnxruntime decide."""
        return max(0, self._int("engine/threads", 0))

    @threads.setter
    def threads(self, value: int) -> None:
        self._store.setValue("engine/threads", int(value))

    @property
    def provider(self) -> str | None:
        """The execution provider chosen in Settings; None lets the app pick the best."""
        return self._text("engine/provider")

    @provider.setter
    def provider(self, value: str | None) -> None:
        self._set_text("engine/provider", value)

    @property
    def library_location(self) -> str | None:
        return self._text("library/location")

    @library_location.setter
    def library_location(self, value: str | None) -> None:
        self._set_text("library/location", value)

    def sync(self) -> None:
        self._store.sync()
