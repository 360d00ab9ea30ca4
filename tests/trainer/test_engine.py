"""The training step: schedule, named terms, weight decay, state round trip, a bad loss."""

from __future__ import annotations

import io
import math

import pytest
import torch

from trainer.engine import Trainer, check_placement, learning_rate, train
from trainer.model import ModelConfig, create_descriptor_net

from .conftest import TINY_MODEL, tiny_config


def make_trainer(**overrides) -> Trainer:
    torch.manual_seed(0)
    net = create_descriptor_net(ModelConfig(**TINY_MODEL))
    config = tiny_config(**overrides)
    return Trainer(net, config, num_steps=10, device=torch.device("cpu"))


def batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (8, 32, 32, 3), generator=generator).to(torch.uint8)
    return images, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])


def test_learning_rate_schedules():
    constant = tiny_config(lr=1.0)
    assert [learning_rate(s, constant, 10) for s in (0, 5, 9)] == [1.0, 1.0, 1.0]
    cosine = tiny_config(lr=1.0, warmup=4, schedule="cosine")
    assert [learning_rate(s, cosine, 14) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert learning_rate(9, cosine, 14) == pytest.approx(0.5)  # half way through the decay
    assert learning_rate(14, cosine, 14) == pytest.approx(0.0)


def test_a_step_returns_every_term_and_moves_the_weights():
    trainer = make_trainer(xbm=16, koleo=0.7)
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    metrics = trainer.train_step(*batch(0))
    assert set(metrics) == {"loss", "contrastive", "xbm", "koleo", "lr", "grad_norm"}
    assert metrics["loss"] == pytest.approx(
        metrics["contrastive"] + metrics["xbm"] + 0.7 * metrics["koleo"]
    )
    assert trainer.step == 1 and len(trainer.objective.memory) == 8
    changed = [k for k, v in trainer.net.state_dict().items() if not torch.equal(v, before[k])]
    assert "backbone.blocks.0.mlp.fc1.weight" in changed


def test_gradient_clipping_bounds_the_update_norm():
    trainer = make_trainer(clip_grad=1e-3)
    metrics = trainer.train_step(*batch(0))
    assert metrics["grad_norm"] > 1e-3  # the norm before clipping is reported
    total = torch.linalg.vector_norm(
        torch.stack([p.grad.norm() for p in trainer.net.parameters() if p.grad is not None])
    )
    assert total.item() == pytest.approx(1e-3, rel=1e-3)


def test_state_dict_round_trip_continues_identically():
    """Training state saved after 2 steps and loaded into a fresh trainer (other seed,
    other weights): the following steps are bitwise those of the original."""
    options = {"xbm": 12, "momentum": 0.9, "warmup": 2, "schedule": "cosine"}
    original = make_trainer(**options)
    for seed in (0, 1):
        original.train_step(*batch(seed))
    saved = io.BytesIO()
    torch.save(original.state_dict(), saved)
    saved.seek(0)
    torch.manual_seed(123)
    fresh_net = create_descriptor_net(ModelConfig(**TINY_MODEL))
    restored = Trainer(fresh_net, tiny_config(**options), num_steps=10, device=torch.device("cpu"))
    restored.load_state_dict(torch.load(saved, weights_only=False))
    for seed in (2, 3):
        assert original.train_step(*batch(seed)) == restored.train_step(*batch(seed))
    restored_weights = restored.net.state_dict()
    for name, weight in original.net.state_dict().items():
        assert torch.equal(weight, restored_weights[name]), name
    restored_keys = restored.momentum_model.state_dict()
    for name, weight in original.momentum_model.state_dict().items():
        assert torch.equal(weight, restored_keys[name]), name


def test_a_non_finite_loss_stops_training():
    trainer = make_trainer()
    for parameter in trainer.net.parameters():
        parameter.data.fill_(math.nan)
    with pytest.raises(RuntimeError, match="the loss is nan at step 0"):
        trainer.train_step(*batch(0))


def test_train_loop_reports_each_step_and_throughput():
    trainer = make_trainer()
    seen = []
    summary = train(trainer, [batch(0), batch(1)], on_step=lambda s, m: seen.append((s, m)))
    assert [s for s, _ in seen] == [1, 2]
    assert all(m["images_per_s"] > 0 and m["step_seconds"] > 0 for _, m in seen)
    assert summary["steps"] == 2 and summary["images_per_s"] > 0


def test_bf16_autocast_only_on_gpus():
    assert not make_trainer(amp=True).amp


def test_every_parameter_and_buffer_is_on_the_training_device():
    """Built on the `meta` device (no GPU needed), every module the trainer builds lives
    there, the momentum encoder's normalisation buffers included, and a step's forward and
    backward run there."""
    torch.manual_seed(0)
    net = create_descriptor_net(ModelConfig(**TINY_MODEL))
    config = tiny_config(xbm=16, momentum=0.9)
    trainer = Trainer(net, config, num_steps=10, device=torch.device("meta"))
    modules = trainer.modules()
    assert {"net", "model", "momentum_model", "objective"} <= set(modules)
    for module_name, module in modules.items():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            assert tensor.is_meta, f"{module_name}.{name} is on {tensor.device}"
    # the memory's length is read on the host and KoLeo switches autocast off by device
    # type, neither of which the meta device allows: the forward runs without them
    net = create_descriptor_net(ModelConfig(**TINY_MODEL))
    trainer = Trainer(
        net, tiny_config(momentum=0.9, koleo=0.0), num_steps=10, device=torch.device("meta")
    )
    images, labels = batch(0)
    terms = trainer.forward_backward(images.to("meta"), labels.to("meta"))
    assert terms["loss"].is_meta
    assert all(p.grad is not None and p.grad.is_meta for p in trainer.net.parameters())


def test_a_tensor_off_the_training_device_is_named_at_once():
    trainer = make_trainer()
    trainer.objective.register_buffer("stray", torch.zeros(1, device="meta"))
    with pytest.raises(RuntimeError, match="objective.stray is on meta, not on the training"):
        check_placement(trainer.modules(), trainer.device)


def test_the_memory_takes_part_after_its_warmup():
    trainer = make_trainer(xbm=16, xbm_warmup=2)
    for seed in (0, 1):
        assert trainer.train_step(*batch(seed))["xbm"] == 0.0
        assert len(trainer.objective.memory) == 0
    assert trainer.train_step(*batch(2))["xbm"] > 0.0
    assert len(trainer.objective.memory) == 8


@pytest.mark.parametrize("arch", ["vit_tiny_patch16_224", "deit_tiny_distilled_patch16_224"])
def test_weight_decay_spares_norms_biases_and_tokens_only(arch):
    """Every trainable parameter is in exactly one AdamW group; norm weights, biases, the
    position embedding and the class (and distillation) tokens get no weight decay, and every
    matrix weight gets the configured one."""
    torch.manual_seed(0)
    net = create_descriptor_net(ModelConfig(arch, 32, {"depth": 1}))
    config = tiny_config(arch=arch, weight_decay=0.05)
    trainer = Trainer(net, config, num_steps=1, device=torch.device("cpu"))
    name_of = {id(p): name for name, p in net.named_parameters()}
    decay_of: dict[str, float] = {}
    for group in trainer.optimizer.param_groups:
        for parameter in group["params"]:
            name = name_of[id(parameter)]
            assert name not in decay_of, f"{name} is in two groups"
            decay_of[name] = group["weight_decay"]
    trainable = {name for name, p in net.named_parameters() if p.requires_grad}
    assert set(decay_of) == trainable

    # the rule, stated independently of timm: vectors (norm weights, biases) and the
    # embeddings added to or prepended to the tokens are not decayed
    tokens = ("pos_embed", "cls_token", "dist_token")
    parameters = dict(net.named_parameters())
    spared = {n for n in trainable if parameters[n].ndim <= 1 or n.endswith(tokens)}
    assert decay_of == {n: 0.0 if n in spared else 0.05 for n in trainable}

    # and by name, so a reader sees which parameters the rule puts where
    block = "backbone.blocks.0"
    expected_spared = {
        "backbone.pos_embed",
        "backbone.cls_token",
        "backbone.patch_embed.proj.bias",
        f"{block}.norm1.weight",
        f"{block}.norm1.bias",
        f"{block}.attn.qkv.bias",
        f"{block}.attn.proj.bias",
        f"{block}.norm2.weight",
        f"{block}.norm2.bias",
        f"{block}.mlp.fc1.bias",
        f"{block}.mlp.fc2.bias",
        "backbone.norm.weight",
        "backbone.norm.bias",
    }
    if "distilled" in arch:
        expected_spared.add("backbone.dist_token")
    expected_decayed = {
        "backbone.patch_embed.proj.weight",
        f"{block}.attn.qkv.weight",
        f"{block}.attn.proj.weight",
        f"{block}.mlp.fc1.weight",
        f"{block}.mlp.fc2.weight",
    }
    assert spared == expected_spared
    assert trainable - spared == expected_decayed
