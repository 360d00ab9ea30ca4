"""The descriptor network: CLS token after the final norm, and every way to load weights."""

from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from trainer.model import ModelConfig, create_descriptor_net, load_checkpoint_net

TINY = {"depth": 2}


def test_descriptor_is_normalised_cls_token_after_final_norm():
    torch.manual_seed(0)
    net = create_descriptor_net(ModelConfig("vit_tiny_patch16_224", 32, TINY)).eval()
    images = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        descriptors = net(images)
        backbone = net.backbone
        x = backbone.patch_embed(images)
        x = backbone._pos_embed(x)
        x = backbone.blocks(x)
        expected = F.normalize(backbone.norm(x)[:, 0], dim=-1)
    assert descriptors.shape == (3, 192)
    assert torch.allclose(descriptors, expected, atol=1e-6)
    assert torch.allclose(descriptors.norm(dim=1), torch.ones(3), atol=1e-6)


def test_distilled_deit_uses_the_cls_token_only():
    torch.manual_seed(0)
    net = create_descriptor_net(ModelConfig("deit_tiny_distilled_patch16_224", 32, TINY)).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        tokens = net.backbone.forward_features(images)
        pooled = net.backbone.forward_head(tokens, pre_logits=True)
        descriptors = net(images)
    assert torch.allclose(descriptors, F.normalize(tokens[:, 0], dim=-1), atol=1e-6)
    assert not torch.allclose(descriptors, F.normalize(pooled, dim=-1), atol=1e-3)


def test_architecture_without_class_token_is_refused():
    config = ModelConfig("vit_tiny_patch16_224", 32, {"class_token": False, "global_pool": "avg"})
    with pytest.raises(ValueError, match="no class token"):
        create_descriptor_net(config)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_weights_file_goes_through_timm_pretrained_loading(tmp_path, suffix):
    """A classifier checkpoint at 224 px loads into a headless net at 64 px."""
    torch.manual_seed(1)
    source = timm.create_model("vit_tiny_patch16_224", num_classes=1000, **TINY)
    state = source.state_dict()
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)
    net = create_descriptor_net(ModelConfig("vit_tiny_patch16_224", 64, TINY), weights_file=path)
    loaded = net.backbone.state_dict()
    assert torch.equal(loaded["blocks.1.attn.qkv.weight"], state["blocks.1.attn.qkv.weight"])
    assert torch.equal(loaded["cls_token"], state["cls_token"])
    assert loaded["pos_embed"].shape == (1, 1 + 16, 192)  # resampled from 1 + 196 tokens
    assert "head.weight" not in loaded or loaded["head.weight"].numel() == 0


def test_missing_weights_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        create_descriptor_net(ModelConfig("vit_tiny_patch16_224"), weights_file=tmp_path / "x.pth")


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(2)
    config = ModelConfig("vit_tiny_patch16_224", 32, TINY)
    net = create_descriptor_net(config).eval()
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": net.state_dict(), "model_config": config.to_dict(), "step": 7}, path)
    restored, checkpoint = load_checkpoint_net(path)
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(restored.eval()(images), net(images))
    assert checkpoint["step"] == 7


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": 1}, path)
    with pytest.raises(ValueError, match="not a photo-search trainer checkpoint"):
        load_checkpoint_net(path)
