"""One optimisation step and the training loop (after deit's `engine.py`).

AdamW, an optional linear warmup and cosine decay (off by default, as in the paper),
optional gradient clipping, bf16 autocast on GPUs, and data-parallel training where the
loss sees the whole global batch. All randomness of a step (its batch, its augmentations,
dropout) is seeded from (seed, step, rank), so the whole training state is the network,
the optimizer, the cross-batch memory, the momentum encoder and the step: a checkpoint of
those resumes a run exactly.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch
from timm.optim import param_groups_weight_decay
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from trainer.config import FinetuneConfig
from trainer.distributed import World, gather, gather_with_grad
from trainer.export import UInt8ImageWrapper
from trainer.model import DescriptorNet
from trainer.objective import RetrievalObjective


def learning_rate(step: int, config: FinetuneConfig, num_steps: int) -> float:
    """The learning rate of `step`: linear warmup, then constant or cosine to zero."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    if config.schedule == "constant":
        return config.lr
    progress = (step - config.warmup) / max(1, num_steps - config.warmup)
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def step_seed(seed: int, step: int, rank: int) -> int:
    """Seed of the torch generator during a step (dropout, drop path): a pure function of the
    step, so a resumed run draws what the uninterrupted one would have."""
    return int(np.random.SeedSequence([seed, step, rank, 1]).generate_state(1)[0])


class Trainer:
    """The training state and the step that updates it.

    Input batches are uint8 NHWC images: the network is wrapped with the same
    normalisation the exported ONNX graph applies.
    """

    def __init__(
        self,
        net: DescriptorNet,
        config: FinetuneConfig,
        *,
        num_steps: int,
        device: torch.device,
        world: World | None = None,
    ) -> None:
        self.config = config
        self.num_steps = num_steps
        self.device = device
        self.world = world or World()
        self.amp = config.amp and device.type == "cuda"
        self.net = net.to(device).train()
        wrapper = UInt8ImageWrapper(self.net).to(device)
        self.momentum_model = None
        if config.momentum > 0:
            self.momentum_model = copy.deepcopy(wrapper).eval()
            self.momentum_model.requires_grad_(False)
        self.model: nn.Module = wrapper
        if self.world.distributed:
            device_ids = [device.index] if device.type == "cuda" else None
            self.model = DistributedDataParallel(wrapper, device_ids=device_ids)
        self.objective = RetrievalObjective(
            margin=config.margin,
            koleo_weight=config.koleo,
            memory_size=config.xbm,
            descriptor_dim=net.descriptor_dim,
        ).to(device)
        backbone = self.net.backbone
        groups = param_groups_weight_decay(
            backbone, config.weight_decay, no_weight_decay_list=backbone.no_weight_decay()
        )
        self.optimizer = torch.optim.AdamW(groups, lr=config.lr)
        self.step = 0
        check_placement(self.modules(), device)

    def modules(self) -> dict[str, nn.Module]:
        """Every module the trainer built, by attribute name."""
        return {name: value for name, value in vars(self).items() if isinstance(value, nn.Module)}

    def _autocast(self) -> contextlib.AbstractContextManager:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, torch.bfloat16)

    def forward_backward(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, Any]:
        """Loss terms over the global batch, gradients accumulated, memory updated.

        The memory's keys are the batch's own descriptors, or the momentum encoder's; the
        memory takes part once `xbm_warmup` steps are done.
        """
        with self._autocast():
            z = self.model(images)
        z_all = gather_with_grad(z.float(), self.world)
        labels_all = gather(labels, self.world)
        keys = None
        if self.momentum_model is not None:
            with torch.no_grad(), self._autocast():
                keys = gather(self.momentum_model(images).float(), self.world)
        use_memory = self.step >= self.config.xbm_warmup
        terms = self.objective(z_all, labels_all, keys, use_memory=use_memory)
        terms["loss"].backward()
        return {name: value.detach() for name, value in terms.items()}

    def train_step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """One optimisation step; returns the loss terms, learning rate and gradient norm."""
        lr = learning_rate(self.step, self.config, self.num_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        torch.manual_seed(step_seed(self.config.seed, self.step, self.world.rank))
        self.optimizer.zero_grad(set_to_none=True)
        terms = self.forward_backward(
            images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)
        )
        max_norm = self.config.clip_grad if self.config.clip_grad > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.net.parameters(), max_norm)
        metrics = {name: float(value) for name, value in terms.items()}
        if not math.isfinite(metrics["loss"]):
            raise RuntimeError(f"the loss is {metrics['loss']} at step {self.step}; stopping")
        self.optimizer.step()
        self._update_momentum_model()
        self.step += 1
        return {**metrics, "lr": lr, "grad_norm": float(grad_norm)}

    @torch.no_grad()
    def _update_momentum_model(self) -> None:
        if self.momentum_model is None:
            return
        online = list(self.net.parameters())
        keys = list(self.momentum_model.net.parameters())
        torch._foreach_mul_(keys, self.config.momentum)
        torch._foreach_add_(keys, online, alpha=1.0 - self.config.momentum)

    def state_dict(self) -> dict[str, Any]:
        state = {
            "model": self.net.state_dict(),
            "model_config": self.net.config.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "objective": self.objective.state_dict(),
            "step": self.step,
        }
        if self.momentum_model is not None:
            state["momentum_model"] = self.momentum_model.net.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.objective.load_state_dict(state["objective"])
        if self.momentum_model is not None:
            self.momentum_model.net.load_state_dict(state["momentum_model"])
        self.step = int(state["step"])


def check_placement(modules: dict[str, nn.Module], device: torch.device) -> None:
    """Raise at once, naming the tensor, if any parameter or buffer is not on `device`:
    on a GPU a stray CPU tensor would otherwise fail in the first step, or silently run
    part of the step on the CPU."""
    for module_name, module in modules.items():
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
            if tensor.device.type != device.type or (
                device.index is not None and tensor.device.index != device.index
            ):
                raise RuntimeError(
                    f"{module_name}.{name} is on {tensor.device}, not on the training "
                    f"device {device}"
                )


def train(
    trainer: Trainer,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    on_step: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, float]:
    """Run `trainer.train_step` on every batch, calling `on_step(step, metrics)` after each.

    Returns the run's throughput: steps, seconds spent in steps (data loading included,
    callbacks excluded) and global images per second. `metrics` carries the step's own
    `images_per_s` and `step_seconds` too.
    """
    steps, images_seen, seconds = 0, 0, 0.0
    last = time.perf_counter()
    for images, labels in batches:
        metrics = trainer.train_step(images, labels)
        elapsed = max(time.perf_counter() - last, 1e-9)
        batch = len(images) * trainer.world.size
        metrics["images_per_s"] = batch / elapsed
        metrics["step_seconds"] = elapsed
        steps, images_seen, seconds = steps + 1, images_seen + batch, seconds + elapsed
        if on_step is not None:
            on_step(trainer.step, metrics)
        last = time.perf_counter()
    return {
        "steps": steps,
        "seconds": seconds,
        "images_per_s": images_seen / seconds if seconds > 0 else 0.0,
    }
