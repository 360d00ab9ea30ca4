"""`desktop-trainer finetune` and `evaluate` end to end on real photos.

The learning-signal run trains a tiny ViT from random weights on half of flowers60's
labels and measures the other half before and after; it is shared by the tests that check
what the run folder holds.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import signal

import numpy as np
import pytest
import timm
import torch
from PIL import Image

from desktop.core.descriptor_model import DescriptorSession
from trainer import cli
from trainer.data.folder import scan_labelled_folder
from trainer.data.transforms import EvalView
from trainer.embed import model_embedder
from trainer.finetune import finetune, fit_batch_to_labels
from trainer.progress import Progress
from trainer.report import MetricsLog
from trainer.stopping import Stopped, StopRequest

from .conftest import TINY_MODEL, tiny_config

LEARNING_SIGNAL = [
    "--arch", "vit_tiny_patch16_224", "--input-size", "64", "--model-kwargs", "depth=2",
    "--iterations", "60", "--batch-size", "32", "--m", "2", "--lr", "1e-3",
    "--val-classes", "0.5", "--device", "cpu", "--workers", "0",
    "--eval-every", "30", "--log-every", "5", "--checkpoint-every", "20",
]  # fmt: skip


@pytest.fixture(scope="module")
def flowers_run(tmp_path_factory, flowers_dir):
    run_dir = tmp_path_factory.mktemp("finetune") / "run"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = cli.main(["finetune", str(flowers_dir), "--out", str(run_dir), *LEARNING_SIGNAL])
    assert status == 0
    return run_dir, stdout.getvalue()


def test_held_out_recall_rises_after_fine_tuning(flowers_run):
    run_dir, stdout = flowers_run
    report = json.loads((run_dir / "report.json").read_text())
    before, after = report["before"], report["after"]
    assert before["queries"] == after["queries"] == 600  # 30 held-out labels x 20 photos
    assert after["recall@1"] >= before["recall@1"] + 0.04, (before, after)
    assert after["map@r"] > before["map@r"]
    assert "before: recall@1" in stdout and "after: recall@1" in stdout


def test_run_folder_holds_config_metrics_checkpoint_model_report_and_curves(flowers_run):
    run_dir, _ = flowers_run
    names = sorted(p.name for p in run_dir.iterdir())
    expected = [
        "checkpoint.pt", "config.json", "curves.png", "metrics.jsonl", "model.onnx", "report.json"
    ]  # fmt: skip
    assert names == expected  # no temporary files left behind
    config = json.loads((run_dir / "config.json").read_text())
    assert config["lr"] == 1e-3 and config["batch_size"] == 32 and config["iterations"] == 60
    assert config["margin"] == 0.5 and config["koleo"] == 0.7  # defaults kept
    assert config["model_kwargs"] == {"depth": 2}
    records = MetricsLog(run_dir).records()
    train_steps = [r["step"] for r in records if r["kind"] == "train"]
    eval_steps = [r["step"] for r in records if r["kind"] == "eval"]
    assert train_steps == list(range(5, 61, 5)) and eval_steps == [0, 30, 60]
    assert {"loss", "contrastive", "koleo", "lr", "grad_norm"} <= set(records[1])
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert checkpoint["step"] == 60 and checkpoint["model_config"]["input_size"] == 64
    with Image.open(run_dir / "curves.png") as curves:
        assert curves.format == "PNG" and curves.size == (1200, 400)


def test_exported_model_carries_the_training_summary(flowers_run):
    run_dir, _ = flowers_run
    report = json.loads((run_dir / "report.json").read_text())
    info = DescriptorSession(run_dir / "model.onnx").info
    assert info.content_hash == report["model"]["content_hash"]
    assert info.input_spec.input_size == 64 and info.descriptor_dim == 192
    # trained on crops of photos resized to 73 (256/224 x 64): the app resizes alike
    assert info.input_spec.resize_size == 73
    assert report["preprocessing"] == "shorter side resized to 73, centre crop 64, bicubic"
    training = info.training
    assert training["loss"] == "contrastive + koleo"
    assert training["koleo"] == 0.7 and training["margin"] == 0.5
    assert training["iterations"] == 60 and training["weights"] == "random init"
    assert training["metrics"]["after"]["recall@1"] == report["after"]["recall@1"]


def test_evaluate_onnx_and_checkpoint_agree(flowers_run, small_labelled, tmp_path, capsys):
    """The exported model and its checkpoint see the same input and give the same
    descriptors (cosine 0.9999, the export's own check), so the same figures."""
    run_dir, _ = flowers_run
    results = {}
    for model in ("model.onnx", "checkpoint.pt"):
        out = tmp_path / f"{model}.json"
        arguments = ["--dataset", "folder", "--root", str(small_labelled), "--json", str(out)]
        status = cli.main(["evaluate", "--model", str(run_dir / model), *arguments])
        assert status == 0
        results[model] = json.loads(out.read_text())
    onnx_result, torch_result = results["model.onnx"], results["checkpoint.pt"]
    assert {"recall@1", "recall@2", "recall@4", "recall@8", "map@r"} <= set(onnx_result)
    assert onnx_result["queries"] == 48
    assert onnx_result["preprocessing"] == torch_result["preprocessing"]
    for metric in ("recall@1", "recall@2", "recall@4", "recall@8"):
        assert onnx_result[metric] == torch_result[metric], metric
    assert onnx_result["map@r"] == pytest.approx(torch_result["map@r"], abs=1e-4)
    assert "recall@1" in capsys.readouterr().out
    photos = scan_labelled_folder(small_labelled).paths
    descriptors = [
        embedder.embed(photos, view=EvalView(embedder.spec))
        for embedder in (
            model_embedder(run_dir / "model.onnx"),
            model_embedder(run_dir / "checkpoint.pt"),
        )
    ]
    cosines = np.sum(descriptors[0] * descriptors[1], axis=1)
    assert cosines.min() >= 0.9999


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(small_labelled, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_labelled, data, symlinks=True)
    broken = next(data.iterdir()) / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    weights = tmp_path / "start.pth"  # starting weights, as a user's local file
    torch.save(
        timm.create_model(TINY_MODEL["arch"], **TINY_MODEL["model_kwargs"]).state_dict(), weights
    )
    config = tiny_config(
        data_dir=str(data),
        weights=str(weights),
        val_classes=0.25,
        iterations=6,
        checkpoint_every=2,
        xbm=16,
        momentum=0.9,
        warmup=2,
        schedule="cosine",
    )
    finetune(config, tmp_path / "a")

    class CtrlCAtStep3(Progress):  # an interrupt that no stop handler defers
        def stepped(self, step, steps, metrics):
            if step == 3:
                raise KeyboardInterrupt

    with pytest.raises(Stopped) as stopped:
        finetune(config, tmp_path / "b", progress=CtrlCAtStep3())
    assert stopped.value.step == 2  # the last periodic checkpoint
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["step"] == 2
    weights.unlink()  # a resumed run takes its weights from the checkpoint alone
    stop = StopRequest()

    class StopAtStep5(Progress):  # as the command line's SIGTERM handler does mid-step
        def stepped(self, step, steps, metrics):
            if step == 5:
                stop.request(signal.SIGTERM)

    with pytest.raises(Stopped) as stopped:
        finetune(config, tmp_path / "b", resume=True, progress=StopAtStep5(), stop=stop)
    assert stopped.value.step == 5  # the step reached, not the periodic checkpoint of step 4
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["step"] == 5
    assert cli.main(["finetune", "--resume", str(tmp_path / "b")]) == 0

    a, b = (torch.load(tmp_path / run / "checkpoint.pt", weights_only=False) for run in "ab")
    assert a["step"] == b["step"] == 6
    for part in ("model", "objective", "momentum_model"):
        for name, tensor in a[part].items():
            assert torch.equal(tensor, b[part][name]), (part, name)
    for key, state in a["optimizer"]["state"].items():
        assert torch.equal(state["exp_avg_sq"], b["optimizer"]["state"][key]["exp_avg_sq"])
    losses = [
        [(r["step"], r["loss"], r["xbm"], r["lr"]) for r in MetricsLog(tmp_path / run).records()
         if r["kind"] == "train"]
        for run in "ab"
    ]  # fmt: skip
    assert losses[0] == losses[1] and [s for s, *_ in losses[0]] == [1, 2, 3, 4, 5, 6]
    reports = [json.loads((tmp_path / run / "report.json").read_text()) for run in "ab"]
    assert reports[0]["after"] == reports[1]["after"]
    assert reports[0]["before"] == reports[1]["before"]
    assert DescriptorSession(tmp_path / "b" / "model.onnx").info.training["weights"] == (
        "weights start.pth"
    )
    skipped = reports[0]["data"]["skipped"]  # an unreadable photo is listed, never fatal
    assert [entry["path"] for entry in skipped] == [str(broken)]


def test_finetune_refuses_to_overwrite_or_resume_nothing(small_labelled, tmp_path, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"")
    arguments = ["finetune", str(small_labelled), "--out", str(tmp_path / "run")]
    assert cli.main(arguments) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert cli.main(["finetune", "--resume", str(tmp_path / "nothing")]) == 2
    assert "holds no run to resume" in capsys.readouterr().err
    assert cli.main(["finetune", str(small_labelled)]) == 2
    assert "--out RUN_DIR" in capsys.readouterr().err


def test_too_few_labels_shrink_the_batch_instead_of_failing(small_labelled, tmp_path):
    config = tiny_config(
        data_dir=str(small_labelled), val_classes=0.5, batch_size=16, m=2, iterations=2
    )
    finetune(config, tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["batch_size"] == 8  # 4 training labels x m=2, saved for --resume


def test_fit_batch_to_labels():
    config = tiny_config(batch_size=64, m=2)
    assert fit_batch_to_labels(config, 40) is config
    assert fit_batch_to_labels(config, 30).batch_size == 60
    assert fit_batch_to_labels(config, 30, world_size=4).batch_size == 60
    assert fit_batch_to_labels(config, 31, world_size=4).batch_size == 60
    assert fit_batch_to_labels(tiny_config(batch_size=64, m=4), 7, world_size=3).batch_size == 24
    with pytest.raises(ValueError, match="at least 2 labels"):
        fit_batch_to_labels(config, 1)


def test_images_per_second_and_seconds_are_reported(flowers_run):
    run_dir, _ = flowers_run
    training = json.loads((run_dir / "report.json").read_text())["training"]
    assert training["steps"] == 60 and training["seconds"] > 0
    assert np.isfinite(training["images_per_s"]) and training["images_per_s"] > 0
    assert training["peak_memory_bytes"] is None  # a GPU run records its peak here
