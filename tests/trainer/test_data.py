"""Labelled folders, the class-disjoint split, official benchmark layouts, transforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from desktop.core.images import InputSpec, load_input
from desktop.core.library import Library
from desktop.core.paths import app_paths
from trainer.data.benchmarks import (
    QueryGallery,
    load_cub,
    load_eval_dataset,
    load_inshop,
    load_revisited,
    load_sop,
    protocol_view,
)
from trainer.data.datasets import EvalViews, TrainViews
from trainer.data.folder import scan_labelled_folder, split_classes
from trainer.data.transforms import EvalView, load_train_view, random_crop_flip, recipe_spec

from .conftest import write_photo
from .replicas import write_cub, write_inshop, write_revisited, write_sop


def test_labels_are_top_level_folders_with_photos_at_any_depth(tmp_path):
    write_photo(tmp_path / "roses" / "a.jpg")
    write_photo(tmp_path / "roses" / "2023" / "june" / "b.png")
    write_photo(tmp_path / "tulips" / "c.JPG")
    write_photo(tmp_path / "tulips" / ".hidden.jpg")
    write_photo(tmp_path / ".cache" / "d.jpg")
    (tmp_path / "tulips" / "notes.txt").write_text("not a photo")
    images = scan_labelled_folder(tmp_path)
    assert images.class_names == ["roses", "tulips"]
    names = [p.relative_to(tmp_path).as_posix() for p in images.paths]
    assert names == ["roses/a.jpg", "roses/2023/june/b.png", "tulips/c.JPG"]
    assert images.labels.tolist() == [0, 0, 1]
    assert images.skipped == []


def test_unreadable_photos_are_skipped_and_listed(tmp_path):
    write_photo(tmp_path / "a" / "good.jpg")
    (tmp_path / "a" / "empty.jpg").write_bytes(b"")
    good = (tmp_path / "a" / "good.jpg").read_bytes()
    (tmp_path / "a" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "text.png").write_text("hello")
    write_photo(tmp_path / "loose.jpg")
    images = scan_labelled_folder(tmp_path)
    assert [p.name for p in images.paths] == ["good.jpg"]
    assert images.class_names == ["a"]  # b has no readable photo
    reasons = {path.name: reason for path, reason in images.skipped}
    assert set(reasons) == {"empty.jpg", "truncated.jpg", "text.png", "loose.jpg"}
    assert "not inside a label folder" in reasons["loose.jpg"]
    assert "not an image" in reasons["text.png"]


def test_a_folder_without_labels_is_an_error(tmp_path):
    write_photo(tmp_path / "loose.jpg")
    with pytest.raises(ValueError, match="no label sub-folders"):
        scan_labelled_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        scan_labelled_folder(tmp_path / "missing")


def test_class_disjoint_split_holds_out_the_last_labels(small_labelled):
    images = scan_labelled_folder(small_labelled)
    train, held_out = split_classes(images, 0.25)
    assert train.class_names == images.class_names[:6]
    assert held_out.class_names == images.class_names[6:]
    assert len(train) + len(held_out) == len(images) == 48
    assert set(train.paths).isdisjoint(held_out.paths)
    assert sorted(set(held_out.labels.tolist())) == [0, 1]  # relabelled from 0
    for path, label in zip(held_out.paths, held_out.labels, strict=True):
        assert path.parent.name == held_out.class_names[label]
    for fraction in (0.0, 1.0, 0.01):
        with pytest.raises(ValueError):
            split_classes(images, fraction)


def test_cub_layout_splits_at_class_100(tmp_path):
    root = write_cub(tmp_path)
    train, test = load_cub(root, "train"), load_cub(root / "CUB_200_2011", "test")
    assert [p.parent.name for p in train.paths] == ["001.Bird_1"] * 2 + ["002.Bird_2"] * 2
    assert [p.parent.name for p in test.paths] == ["101.Bird_101"] * 2 + ["102.Bird_102"] * 2
    assert train.labels.tolist() == test.labels.tolist() == [0, 0, 1, 1]
    assert all(p.is_file() for p in train.paths + test.paths)


def test_sop_layout(tmp_path):
    root = write_sop(tmp_path)
    train, test = load_sop(root, "train"), load_sop(root, "test")
    assert len(train) == 4 and train.num_classes == 2
    assert len(test) == 6 and test.class_names == ["11319", "11320", "11321"]
    assert test.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert isinstance(load_eval_dataset("sop", root), type(test))


def test_inshop_layout_shares_labels_between_query_and_gallery(tmp_path):
    root = write_inshop(tmp_path)
    train = load_inshop(root, "train")
    assert len(train) == 2 and train.num_classes == 1
    test = load_inshop(root, "test")
    assert isinstance(test, QueryGallery)
    assert test.query.class_names == test.gallery.class_names == ["id_00000003", "id_00000007"]
    assert [p.name for p in test.query.paths] == ["01_1_front.jpg", "01_4_full.jpg"]
    assert test.query.labels.tolist() == [1, 0]
    assert test.gallery.labels.tolist() == [1, 0]


@pytest.mark.parametrize("name", ["roxford5k", "rparis6k"])
def test_revisited_layout(tmp_path, name):
    root = write_revisited(tmp_path, name)
    data = load_revisited(root, name)
    assert data is not None and data.name == name
    assert len(data.database) == 5 and len(data.queries) == 2
    assert data.boxes[0] == (10.0, 5.0, 50.0, 35.0)
    assert data.ground_truth[0]["hard"].tolist() == [1]
    assert data.ground_truth[1]["easy"].dtype == np.int64
    assert load_revisited(root / name, name).database == data.database


def test_missing_photos_and_lists_fail_with_a_clear_message(tmp_path):
    root = write_sop(tmp_path)
    (root / "Stanford_Online_Products" / "bicycle_final" / "1_0.JPG").unlink()
    assert len(load_sop(root, "test")) == 6
    with pytest.raises(FileNotFoundError, match="1 of 4 listed photos are missing: .*1_0.JPG"):
        load_sop(root, "train")
    with pytest.raises(FileNotFoundError, match="images.txt not found"):
        load_cub(tmp_path / "nowhere", "train")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_eval_dataset("imagenet", tmp_path)


SPEC = InputSpec(input_size=32, resize_size=36, interpolation="bicubic")


def test_train_view_is_a_pure_function_of_the_seed(made_photos):
    photo = made_photos[0]
    a = load_train_view(photo, SPEC, np.random.default_rng(5))
    b = load_train_view(photo, SPEC, np.random.default_rng(5))
    views = [load_train_view(photo, SPEC, np.random.default_rng(s)) for s in range(8)]
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert len({v.tobytes() for v in views}) > 4


def test_random_crop_flip_equals_resize_then_crop_then_flip():
    """Resampling only the crop's box gives the pixels of resizing the whole photo (shorter
    side to 36: 200x100 becomes 72x36), cropping 32x32 and mirroring half the time."""
    y, x = np.mgrid[0:100, 0:200]
    pixels = np.stack([x * 255 // 199, y * 255 // 99, (x + y) % 256], axis=2).astype(np.uint8)
    image = Image.fromarray(pixels)
    resized = np.asarray(image.resize((72, 36), Image.Resampling.BILINEAR), dtype=np.int16)
    flips = 0
    for seed in range(12):
        view = random_crop_flip(image, 32, 36, "bilinear", np.random.default_rng(seed))
        rng = np.random.default_rng(seed)
        left, top = rng.integers(0, 72 - 32 + 1), rng.integers(0, 36 - 32 + 1)
        expected = resized[top : top + 32, left : left + 32]
        if rng.random() < 0.5:
            expected, flips = expected[:, ::-1], flips + 1
        assert view.shape == (32, 32, 3)
        assert np.abs(view.astype(np.int16) - expected).max() <= 2, seed
    assert 0 < flips < 12


def test_eval_view_is_what_the_app_indexes(tmp_path, tiny_model_path):
    """A large (draft-decoded) JPEG stored sideways with an EXIF rotation: the trainer's
    eval view gives the descriptor the app stored, and it is the upright photo."""
    y, x = np.mgrid[0:400, 0:600]
    pixels = np.stack([x * 255 // 599, y * 255 // 399, 128 + (x - y) // 8], axis=2)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 600x400, shown 400x600: rotate 90 degrees clockwise
    photo = tmp_path / "photos" / "sideways.jpg"
    photo.parent.mkdir()
    Image.fromarray(pixels.astype(np.uint8)).save(photo, quality=95, exif=exif)
    with Library(app_paths()) as library:
        model = library.add_model(tiny_model_path)
        library.add_folder(photo.parent)
        library.sync()
        _, stored = library.catalog.descriptors(model.id)
        session = library.session(model)
        view = EvalView(session.input_spec).load(photo)
        np.testing.assert_allclose(session.embed(view[None]), stored, rtol=0, atol=1e-6)
    spec = session.input_spec
    with Image.open(photo) as image:
        upright = ImageOps.exif_transpose(image.convert("RGB"))  # full decode, no draft
    assert upright.size == (400, 600)
    side = spec.resize_size
    resized = upright.resize((side, side * 3 // 2), Image.Resampling.BICUBIC)
    top, left = (side * 3 // 2 - spec.input_size) // 2, (side - spec.input_size) // 2
    expected = np.asarray(resized, np.int16)[
        top : top + spec.input_size, left : left + spec.input_size
    ]
    assert np.abs(view.astype(np.int16) - expected).mean() < 2


def test_eval_view_crops_the_query_box(tmp_path):
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[10:30, 20:40] = (255, 0, 0)
    Image.fromarray(pixels).save(tmp_path / "q.png")
    for view in (EvalView(SPEC), EvalView(SPEC, square=True)):
        pixels = view.load(tmp_path / "q.png", box=(20, 10, 40, 30))
        assert pixels.shape == (32, 32, 3)
        assert (pixels[..., 0] > 250).all() and (pixels[..., 1] < 5).all()


def test_square_view_keeps_the_whole_photo():
    """The revisited protocol's view: a 200x100 photo squeezed to 32x32, nothing cut off,
    where the app's view keeps the centre 100x100 only."""
    y, x = np.mgrid[0:100, 0:200]
    pixels = np.stack([x * 255 // 199, y * 255 // 99, (x + y) % 256], axis=2).astype(np.uint8)
    image = Image.fromarray(pixels)
    square = EvalView(SPEC, square=True).load(image)
    expected = np.asarray(image.resize((32, 32), Image.Resampling.BICUBIC))
    assert np.array_equal(square, expected)
    assert square[:, 0, 0].max() < 10 and square[:, -1, 0].min() > 245  # both ends are in
    centre = EvalView(SPEC).load(image)
    assert centre[:, 0, 0].min() > 40 and centre[:, -1, 0].max() < 215


def test_each_benchmark_has_its_protocols_view():
    app = InputSpec(input_size=224, resize_size=248, interpolation="bicubic")  # timm's DeiT
    assert protocol_view("folder", app) == EvalView(app)  # what the app does
    for name in ("cub", "sop", "inshop"):  # the paper's resize 256, crop 224
        assert protocol_view(name, app) == EvalView(recipe_spec(app))
        assert recipe_spec(app).resize_size == 256
    for name in ("roxford5k", "rparis6k"):
        assert protocol_view(name, app) == EvalView(app, square=True)
    assert recipe_spec(InputSpec(64, 64)).resize_size == 73  # scaled with the input


def test_datasets_return_uint8_views_and_labels(small_labelled):
    images = scan_labelled_folder(small_labelled)
    view, label = TrainViews(images, SPEC)[(7, 123)]
    assert view.shape == (32, 32, 3) and view.dtype == torch.uint8
    assert label == images.labels[7]
    evaluation = EvalViews(images.paths[:3], EvalView(SPEC))
    assert len(evaluation) == 3
    assert np.array_equal(evaluation[1].numpy(), load_input(images.paths[1], SPEC))
