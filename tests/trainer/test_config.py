"""Configuration layers: defaults, then a file (or the run being resumed), then the CLI."""

from __future__ import annotations

import json

import pytest

from trainer import cli
from trainer.config import FinetuneConfig, load_config_file, merge, save_config, saved_run_config
from trainer.model import create_descriptor_net


def cli_overrides(*arguments: str) -> dict:
    return cli.finetune_overrides(cli.build_parser().parse_args(["finetune", *arguments]))


def test_only_the_options_given_on_the_command_line_override():
    assert cli_overrides("data", "--out", "run") == {"data_dir": "data"}
    given = cli_overrides("data", "--lr", "1e-4", "--model-kwargs", "depth=2", "--no-amp")
    assert given == {"data_dir": "data", "lr": 1e-4, "model_kwargs": {"depth": 2}, "amp": False}


def test_a_labels_manifest_replaces_the_data_folder():
    assert cli_overrides("--labels", "labels.csv", "--out", "run") == {"labels": "labels.csv"}
    config = merge({"data_dir": "photos"}, cli_overrides("--labels", "labels.csv"))
    assert (config.labels, config.data_dir) == ("labels.csv", "")  # as the run records it
    assert merge({"labels": "labels.csv"}, {"data_dir": "photos"}).labels is None
    with pytest.raises(ValueError, match="give DATA_DIR or --labels FILE, not both"):
        FinetuneConfig(data_dir="photos", labels="labels.csv")
    with pytest.raises(ValueError, match="replaces a labelled folder, not the cub benchmark"):
        FinetuneConfig(labels="labels.csv", dataset="cub")


def test_layers_merge_in_order_and_the_result_round_trips(tmp_path):
    path = tmp_path / "user.json"
    path.write_text(json.dumps({"lr": 1e-4, "xbm": 4096, "arch": "deit_base_patch16_224"}))
    config = merge(load_config_file(path), cli_overrides("data", "--xbm", "100"))
    assert (config.lr, config.xbm, config.arch) == (1e-4, 100, "deit_base_patch16_224")
    assert config.margin == 0.5 and config.koleo == 0.7 and config.batch_size == 64
    save_config(config, tmp_path)
    assert merge(load_config_file(tmp_path / "config.json")) == config


def test_a_later_layer_choosing_epochs_replaces_iterations():
    config = merge({"iterations": 500}, {"epochs": 3})
    assert config.epochs == 3 and config.iterations is None
    assert merge({"epochs": 3}, {"iterations": 10}).epochs is None
    assert merge({"pretrained": True}, {"weights": "w.pth"}).pretrained is False


def test_invalid_configurations_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown configuration keys: learning_rate"):
        merge({"learning_rate": 1})
    with pytest.raises(ValueError, match="not both"):
        FinetuneConfig(iterations=1, epochs=1)
    with pytest.raises(ValueError, match="unknown dataset"):
        FinetuneConfig(dataset="imagenet")
    with pytest.raises(ValueError, match="momentum"):
        FinetuneConfig(momentum=1.0)
    with pytest.raises(ValueError, match="cannot be negative"):
        FinetuneConfig(xbm_warmup=-1)
    with pytest.raises(ValueError, match="drop_path must be in"):
        FinetuneConfig(drop_path=1.0)
    with pytest.raises(ValueError, match="not model_kwargs"):
        FinetuneConfig(model_kwargs={"drop_path_rate": 0.2})
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        load_config_file(tmp_path / "bad.json")
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["finetune", "data", "--iterations", "1", "--epochs", "1"])


def test_the_drop_path_reaches_the_network():
    config = merge(
        {"arch": "vit_tiny_patch16_224", "model_kwargs": {"depth": 2}}, {"drop_path": 0.2}
    )
    assert config.model_config().model_kwargs == {"drop_path_rate": 0.2, "depth": 2}
    net = create_descriptor_net(config.model_config())
    assert net.backbone.blocks[-1].drop_path1.drop_prob == pytest.approx(0.2)  # timm's rule
    assert FinetuneConfig().model_config().model_kwargs == {"drop_path_rate": 0.1}


def test_a_run_saved_before_drop_path_resumes_with_the_drop_path_it_had(tmp_path):
    for saved, expected in (
        ({}, 0.0),
        ({"model_kwargs": {"drop_path_rate": 0.2, "depth": 2}}, 0.2),
    ):
        run_dir = tmp_path / str(expected)
        run_dir.mkdir()
        (run_dir / "config.json").write_text(json.dumps({"lr": 1e-4, **saved}))
        config = merge(saved_run_config(run_dir))
        assert config.drop_path == expected and "drop_path_rate" not in config.model_kwargs
    (tmp_path / "new").mkdir()
    save_config(FinetuneConfig(drop_path=0.3), tmp_path / "new")
    assert merge(saved_run_config(tmp_path / "new")).drop_path == 0.3


def test_photos_per_label_passes_through_torchrun_where_a_bare_m_cannot():
    """torchrun parses the options of the script it launches for its own abbreviations:
    `--m` is ambiguous there, `--photos-per-label` reaches finetune."""
    from torch.distributed.run import get_args_parser

    torchrun = get_args_parser()
    launched = ["--nproc_per_node", "2", "-m", "trainer.cli", "finetune", "data"]
    args = torchrun.parse_args([*launched, "--photos-per-label", "4", "--out", "run"])
    assert args.training_script_args[-4:] == ["--photos-per-label", "4", "--out", "run"]
    assert cli_overrides(*args.training_script_args[1:])["m"] == 4
    with pytest.raises(SystemExit):
        torchrun.parse_args([*launched, "--m", "4"])
    assert cli_overrides("data", "--m", "3")["m"] == 3  # alone, the short name still works
