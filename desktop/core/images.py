"""Image decoding and the model's input: one function shared by the app and the trainer.

`load_input` opens any Pillow-readable image, applies its EXIF orientation, decodes large
JPEGs in draft mode (about twice the size the model needs), refuses images above a pixel cap
before decoding them, flattens every mode (16-bit, CMYK, palette, alpha) to 8-bit RGB, and
returns the centre crop the model expects as a uint8 HxWx3 array. Failures raise an
`ImageLoadError` subclass whose message says what is wrong with the file.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from desktop.core.perceptual_hash import photo_hashes

# We enforce our own cap (DEFAULT_MAX_PIXELS) before decoding, so Pillow's warning for
# images between its two thresholds is noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _register_heic() -> bool:
    """HEIC photos decode when the optional pillow-heif package is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


HEIC_SUPPORTED = _register_heic()

DEFAULT_MAX_PIXELS = 100_000_000
"""Largest image accepted, in pixels (width x height as stored in the file)."""

DRAFT_FACTOR = 2
"""JPEGs are decoded at no less than this many times the resize size (shorter side)."""

_ORIENTATION, _DATE_TIME, _EXIF_IFD, _DATE_TIME_ORIGINAL = 0x0112, 0x0132, 0x8769, 0x9003

RESAMPLE = {
    # the model contract's interpolation names; the trainer resizes with the same filters
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image


class ImageLoadError(Exception):
    """An image could not be turned into model input; the message says why."""


class UnreadableFileError(ImageLoadError):
    """The file could not be opened or read (missing, permissions, I/O error)."""


class NotAnImageError(ImageLoadError):
    """The file is not an image Pillow can read."""


class CorruptImageError(ImageLoadError):
    """The file is an image, but decoding it failed (truncated or damaged data)."""


class ImageTooLargeError(ImageLoadError):
    """The image has more pixels than the configured cap."""


@dataclass(frozen=True)
class InputSpec:
    """How a photo becomes model input: shorter side resized to `resize_size`, then a centre
    crop of `input_size` x `input_size` (timm's eval transform)."""

    input_size: int
    resize_size: int
    interpolation: str = "bicubic"

    def __post_init__(self) -> None:
        if self.input_size <= 0 or self.resize_size < self.input_size:
            raise ValueError(f"invalid input spec {self}: need 0 < input_size <= resize_size")
        if self.interpolation not in RESAMPLE:
            raise ValueError(f"unknown interpolation {self.interpolation!r}")


@dataclass(frozen=True)
class PhotoInfo:
    """What the catalog records about a photo, read from its header while decoding."""

    width: int
    height: int
    taken_at: str | None
    """Capture time from EXIF (DateTimeOriginal, else DateTime) as ISO 8601, or None."""


@dataclass(frozen=True)
class DecodedPhoto:
    pixels: np.ndarray
    info: PhotoInfo
    hashes: tuple[int, int] | None = None
    """The perceptual hash of the whole photo and of its mirror image, when asked for."""


def load_input(
    source: ImageSource, spec: InputSpec, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Decode `source` and return the model's input: uint8 array [input_size, input_size, 3]."""
    return decode_photo(source, spec, max_pixels=max_pixels).pixels


def decode_photo(
    source: ImageSource,
    spec: InputSpec,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    hashes: bool = False,
) -> DecodedPhoto:
    """The model's input for `source` together with the photo's full size and capture date,
    and with `hashes`, its perceptual hashes (from the whole decoded image)."""
    image, info = _open(source, max_pixels, DRAFT_FACTOR * spec.resize_size)
    return DecodedPhoto(prepare_input(image, spec), info, photo_hashes(image) if hashes else None)


def open_image(
    source: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_size: int | None = None,
) -> Image.Image:
    """Decode `source` into an 8-bit RGB image with its EXIF orientation applied.

    With `draft_size`, a JPEG whose shorter side is much larger is decoded at a reduced
    scale whose shorter side is still at least `draft_size` (libjpeg's DCT scaling).
    """
    return _open(source, max_pixels, draft_size)[0]


def _open(
    source: ImageSource, max_pixels: int, draft_size: int | None
) -> tuple[Image.Image, PhotoInfo]:
    if isinstance(source, Image.Image):
        _check_pixels(source.size, max_pixels, "image")
        info = _read_info(source)
        return _to_rgb(_oriented(source.copy())), info
    name, stream = _open_stream(source)
    try:
        return _decode(stream, name, max_pixels, draft_size)
    finally:
        stream.close()


def prepare_input(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """Resize the shorter side to `spec.resize_size` and centre-crop `spec.input_size`.

    Only the part of the image inside the crop is resampled (Pillow's `box`), so a
    panorama or a 30000x10 strip costs no more than a square photo.
    """
    width, height = image.size
    crop_side = spec.input_size * min(width, height) / spec.resize_size
    left = (width - crop_side) / 2
    top = (height - crop_side) / 2
    resized = image.resize(
        (spec.input_size, spec.input_size),
        RESAMPLE[spec.interpolation],
        box=(left, top, left + crop_side, top + crop_side),
    )
    return np.array(resized, dtype=np.uint8)


def _open_stream(source: ImageSource) -> tuple[str, BinaryIO]:
    if isinstance(source, bytes):
        return "image data", io.BytesIO(source)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            _check_regular(path, path.stat().st_mode)
            return str(path), open(path, "rb")  # noqa: SIM115 - closed by open_image
        except FileNotFoundError as exc:
            raise UnreadableFileError(f"{path} does not exist") from exc
        except PermissionError as exc:
            raise UnreadableFileError(f"no permission to read {path}") from exc
        except OSError as exc:
            raise UnreadableFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return getattr(source, "name", "image stream"), source


def _check_regular(path: Path, mode: int) -> None:
    """Refuse what is not a regular file before opening it: opening a FIFO waits for a
    writer forever, and a device such as /dev/zero never ends."""
    if stat.S_ISDIR(mode):
        raise UnreadableFileError(f"{path} is a folder, not an image file")
    if not stat.S_ISREG(mode):
        raise UnreadableFileError(
            f"{path} is not a regular file (it is a pipe, a device or a socket), so not an image"
        )


def _decode(
    stream: BinaryIO, name: str, max_pixels: int, draft_size: int | None
) -> tuple[Image.Image, PhotoInfo]:
    try:
        image = Image.open(stream)
    except UnidentifiedImageError as exc:
        raise NotAnImageError(f"{name} is not an image in a format Pillow can read") from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{name} is too large to decode safely ({exc})") from exc
    except OSError as exc:  # the file is open: what fails now is its content
        raise CorruptImageError(f"{name} is damaged or truncated: {exc}") from exc
    _check_pixels(image.size, max_pixels, name)
    try:
        info = _read_info(image)
        if draft_size and image.format == "JPEG" and min(image.size) >= 2 * draft_size:
            image.draft(None, (draft_size, draft_size))
        image.load()
        return _to_rgb(_oriented(image)), info
    except ImageLoadError:
        raise
    except Exception as exc:  # any decoder failure is a property of this file, not a bug
        raise CorruptImageError(f"{name} is damaged or truncated: {exc}") from exc


def _check_pixels(size: tuple[int, int], max_pixels: int, name: str) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"{name} is {width}x{height} = {width * height / 1e6:.0f} megapixels, "
            f"above the limit of {max_pixels / 1e6:.0f} megapixels"
        )
    if width == 0 or height == 0:
        raise CorruptImageError(f"{name} has no pixels ({width}x{height})")


def _read_info(image: Image.Image) -> PhotoInfo:
    """Displayed size and capture date from the header; a damaged EXIF block yields none."""
    width, height = image.size
    try:
        exif = image.getexif()
        orientation = exif.get(_ORIENTATION)
        stamp = exif.get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME)
    except Exception:  # noqa: BLE001 - metadata is optional, the pixels may be fine
        orientation, stamp = None, None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return PhotoInfo(width, height, _exif_date(stamp))


def _exif_date(stamp: object) -> str | None:
    """'2024:07:01 18:30:05' -> '2024-07-01T18:30:05'; anything unparsable -> None."""
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.strptime(stamp.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def _oriented(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation in place; a damaged EXIF block leaves the pixels as stored."""
    with contextlib.suppress(Exception):  # orientation is best effort, the pixels are fine
        ImageOps.exif_transpose(image, in_place=True)
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """Flatten any Pillow mode to 8-bit RGB; transparency is composited on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float32)
        if image.mode == "F" and values.max(initial=0.0) <= 1.0:
            values = values * 255.0
        elif image.mode.startswith("I;16") or values.max(initial=0.0) > 255.0:
            values = values / 257.0
        image = Image.fromarray(np.clip(values + 0.5, 0, 255).astype(np.uint8), "L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image if image.mode == "RGB" else image.convert("RGB")
