"""Multi-process training under torchrun: process group, devices, gathers with gradient.

Every rank computes the loss over the whole global batch (descriptors gathered from all
ranks). `gather_with_grad` sends each rank the gradient of that loss with respect to its own
descriptors, summed over ranks; DistributedDataParallel then averages the parameter
gradients, so the update equals the single-process one on the same global batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

COLLECTIVE_TIMEOUT = timedelta(hours=1)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes; `distributed` when torchrun
    launched it (a process group, DistributedDataParallel and collectives, even alone)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    distributed: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_world(device: torch.device) -> World:
    """Join torchrun's process group (NCCL on GPUs, gloo on CPUs) when torchrun started us.

    A single torchrun process joins one too, so `torchrun --nproc_per_node 1` runs the
    same process group, DDP wrapper and collectives as a run on several GPUs.
    """
    if "RANK" not in os.environ:
        return World()
    world = World(
        rank=int(os.environ["RANK"]),
        size=int(os.environ.get("WORLD_SIZE", "1")),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        distributed=True,
    )
    if not dist.is_initialized():
        # rank 0 evaluates alone while the others wait in their next collective: allow it
        # the time a large benchmark (60k SOP photos) takes on one device
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    return world


def resolve_device(name: str) -> torch.device:
    """`auto` is the GPU when there is one; under torchrun each rank takes its local GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda was asked for, but torch sees no CUDA GPU")
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    if name != "cpu":
        raise ValueError(f"unknown device {name!r}; expected auto, cpu or cuda")
    return torch.device("cpu")


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)
        n = grad.shape[0] // dist.get_world_size()
        rank = dist.get_rank()
        return grad[rank * n : (rank + 1) * n]


def gather_with_grad(x: torch.Tensor, world: World) -> torch.Tensor:
    """Concatenate every rank's `x` (equal shapes, rank order); gradients flow back."""
    return _GatherWithGrad.apply(x) if world.distributed else x


@torch.no_grad()
def gather(x: torch.Tensor, world: World) -> torch.Tensor:
    """Concatenate every rank's `x` (equal shapes, rank order), without gradient."""
    if not world.distributed:
        return x
    parts = [torch.empty_like(x) for _ in range(world.size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def close(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
