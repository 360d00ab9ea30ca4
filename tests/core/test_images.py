"""The shared image loader on real photos and on every awkward kind of input."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from desktop.core.images import (
    CorruptImageError,
    ImageTooLargeError,
    InputSpec,
    NotAnImageError,
    UnreadableFileError,
    decode_photo,
    load_input,
    open_image,
    prepare_input,
)
from tests.photos import PHOTO_SIZE

SPEC = InputSpec(input_size=32, resize_size=36)
RED, BLUE = (255, 0, 0), (0, 0, 255)


def two_halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def test_real_photo_gives_uint8_crop(made_photos):
    pixels = load_input(made_photos[0], InputSpec(224, 256))
    assert pixels.dtype == np.uint8
    assert pixels.shape == (224, 224, 3)
    assert pixels.std() > 10  # a real photo, not a flat fill


def test_path_bytes_stream_and_pil_inputs_agree(made_photos):
    path = made_photos[3]
    data = path.read_bytes()
    from_path = load_input(path, SPEC)
    assert np.array_equal(from_path, load_input(str(path), SPEC))
    assert np.array_equal(from_path, load_input(data, SPEC))
    assert np.array_equal(from_path, load_input(io.BytesIO(data), SPEC))
    with Image.open(path) as image:
        image.load()
        # a decoded image skips JPEG draft mode, so it matches a full-resolution decode
        assert np.array_equal(prepare_input(open_image(path), SPEC), load_input(image, SPEC))


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    two_halves(60, 40).save(path, exif=exif, quality=95)
    image = open_image(path)
    assert image.size == (40, 60)
    top = np.asarray(image)[5, 20]
    bottom = np.asarray(image)[55, 20]
    assert top[0] > 200 and top[2] < 60  # the stored left (red) half is now on top
    assert bottom[2] > 200 and bottom[0] < 60


def test_damaged_exif_keeps_pixels(tmp_path):
    path = tmp_path / "bad-exif.jpg"
    two_halves(40, 40).save(path, exif=b"Exif\x00\x00garbage-not-tiff")
    assert open_image(path).size == (40, 40)


def test_png_alpha_is_composited_on_white(tmp_path):
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 10, 20))
    path = tmp_path / "alpha.png"
    image.save(path)
    pixels = np.asarray(open_image(path))
    assert tuple(pixels[10, 2]) == RED
    assert tuple(pixels[10, 15]) == (255, 255, 255)


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (10, 10), 0)
    image.putpalette([0, 255, 0] + [255, 0, 0] * 255)
    image.info["transparency"] = 0
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)
    assert tuple(np.asarray(open_image(path))[5, 5]) == (255, 255, 255)


def test_grayscale_becomes_rgb(tmp_path):
    path = tmp_path / "gray.jpg"
    Image.new("L", (30, 30), 77).save(path)
    pixels = np.asarray(open_image(path))
    assert pixels.shape == (30, 30, 3)
    assert np.all(np.abs(pixels.astype(int) - 77) <= 1)


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 32768, 65535]], dtype=np.uint16).repeat(4, axis=0)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(open_image(path))[0, :, 0]
    assert list(pixels) == [0, 128, 255]


def test_cmyk_jpeg(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(path)  # cyan-free, full magenta+yellow
    pixels = np.asarray(open_image(path))
    assert pixels.shape == (30, 40, 3)
    assert pixels[15, 20, 0] > 200 and pixels[15, 20, 1] < 60 and pixels[15, 20, 2] < 60


def test_pixel_cap_refuses_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (200, 100)).save(path)
    with pytest.raises(ImageTooLargeError, match="200x100"):
        load_input(path, SPEC, max_pixels=10_000)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions with almost no data: a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(100_000, 100_000), (12_000, 10_000)])
def test_decompression_bomb_is_refused(tmp_path, size):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(*size))
    with pytest.raises(ImageTooLargeError, match="megapixels|too large"):
        load_input(path, SPEC)


def test_truncated_jpeg(tmp_path, made_photos):
    data = made_photos[0].read_bytes()
    path = tmp_path / "truncated.jpg"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptImageError, match="truncated"):
        load_input(path, SPEC)


@pytest.mark.parametrize("content", [b"", b"hello, this is text\n", b"\xff\xd8\xff\xe0garbage"])
def test_not_an_image(tmp_path, content):
    path = tmp_path / "photo.jpg"
    path.write_bytes(content)
    with pytest.raises((NotAnImageError, CorruptImageError)):
        load_input(path, SPEC)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UnreadableFileError, match="does not exist"):
        load_input(tmp_path / "gone.jpg", SPEC)
    with pytest.raises(UnreadableFileError, match="folder"):
        load_input(tmp_path, SPEC)


def test_jpeg_draft_mode_decodes_large_photos_smaller(tmp_path, made_photos):
    with Image.open(made_photos[0]) as photo:
        big = photo.convert("RGB").resize((4000, 3000))
    path = tmp_path / "camera.jpg"
    big.save(path, quality=90)
    draft = open_image(path, draft_size=512)
    assert 512 <= min(draft.size) < 1024  # decoded at 1/4 scale, not at 3000 px
    full = open_image(path)
    assert full.size == (4000, 3000)
    spec = InputSpec(224, 256)
    difference = np.abs(prepare_input(draft, spec).astype(int) - prepare_input(full, spec))
    assert difference.mean() < 3.0


def test_centre_crop_of_a_wide_image():
    image = Image.new("RGB", (300, 100), BLUE)
    image.paste(RED, (100, 0, 200, 100))
    pixels = prepare_input(image, InputSpec(50, 50))
    assert pixels.shape == (50, 50, 3)
    assert np.all(pixels[..., 0] > 200) and np.all(pixels[..., 2] < 60)


def test_extreme_aspect_ratio_is_cheap():
    pixels = load_input(Image.new("RGB", (30_000, 10), RED), InputSpec(224, 256))
    assert pixels.shape == (224, 224, 3)


def test_resize_crop_matches_resize_then_crop(made_photos):
    """The box-resize equals the textbook resize-shorter-side then centre-crop."""
    spec = InputSpec(224, 256)
    with Image.open(made_photos[5]) as photo:
        photo = photo.convert("RGB")
    width, height = photo.size
    scale = spec.resize_size / min(width, height)
    resized = photo.resize((round(width * scale), round(height * scale)), Image.BICUBIC)
    left = (resized.width - 224) // 2
    top = (resized.height - 224) // 2
    reference = np.asarray(resized.crop((left, top, left + 224, top + 224)), dtype=int)
    assert np.abs(prepare_input(photo, spec).astype(int) - reference).mean() < 4.0


def test_decode_photo_reports_displayed_size_and_exif_date(tmp_path):
    path = tmp_path / "dated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2023:05:17 08:09:10"
    two_halves(600, 400).save(path, exif=exif)
    decoded = decode_photo(path, SPEC)
    assert decoded.pixels.shape == (32, 32, 3)
    assert (decoded.info.width, decoded.info.height) == (400, 600)
    assert decoded.info.taken_at == "2023-05-17T08:09:10"


def test_decode_photo_without_exif(made_photos):
    info = decode_photo(made_photos[0], SPEC).info
    assert (info.width, info.height) == PHOTO_SIZE
    assert info.taken_at is None
