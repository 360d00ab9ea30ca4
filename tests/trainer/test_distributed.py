"""Two CPU processes (gloo) compute the same loss and gradients as one on the global batch."""

from __future__ import annotations

import os
import socket
import time

import pytest
import torch
import torch.multiprocessing as mp

from trainer import distributed
from trainer.engine import Trainer
from trainer.model import ModelConfig, create_descriptor_net

from .conftest import TINY_MODEL, tiny_config

STEPS, BATCH = 3, 8
CONFIG = tiny_config(batch_size=BATCH, xbm=12, momentum=0.9, koleo=0.7, clip_grad=5.0)


def global_batches():
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (STEPS, BATCH, 32, 32, 3), generator=generator)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]).repeat(STEPS, 1)
    return images.to(torch.uint8), labels


def run_steps(world: distributed.World) -> list[dict]:
    """STEPS training steps on this rank's slice; loss terms and gradients after each."""
    torch.manual_seed(0)
    net = create_descriptor_net(ModelConfig(**TINY_MODEL))
    trainer = Trainer(net, CONFIG, num_steps=STEPS, device=torch.device("cpu"), world=world)
    images, labels = global_batches()
    part = BATCH // world.size
    mine = slice(world.rank * part, (world.rank + 1) * part)
    results = []
    for step in range(STEPS):
        metrics = trainer.train_step(images[step, mine], labels[step, mine])
        grads = {name: p.grad.clone() for name, p in net.named_parameters()}
        results.append({"metrics": metrics, "grads": grads})
    return results


def ddp_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
    )
    torch.set_num_threads(1)
    world = distributed.init_world(torch.device("cpu"))
    try:
        torch.save(run_steps(world), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        distributed.close(world)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_process_results(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("ddp")
    # fork: the children start in a second instead of re-importing torch and timm; they
    # run one thread each, so no OpenMP pool is inherited half-initialised
    context = mp.start_processes(
        ddp_worker, args=(2, free_port(), str(out_dir)), nprocs=2, join=False, start_method="fork"
    )
    deadline = time.monotonic() + 120
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the two training processes did not finish within 120 s")
    return [torch.load(out_dir / f"rank{r}.pt", weights_only=False) for r in range(2)]


def test_both_ranks_hold_the_same_gradients(two_process_results):
    rank0, rank1 = two_process_results
    for step in range(STEPS):
        for name, grad in rank0[step]["grads"].items():
            assert torch.equal(grad, rank1[step]["grads"][name]), name


def test_two_processes_equal_one_process(two_process_results):
    single = run_steps(distributed.World())
    for rank_results in two_process_results:
        for step in range(STEPS):
            ours, theirs = rank_results[step], single[step]
            for term in ("loss", "contrastive", "xbm", "koleo", "grad_norm"):
                assert ours["metrics"][term] == pytest.approx(theirs["metrics"][term], rel=1e-5)
            for name, grad in theirs["grads"].items():
                scale = grad.abs().max().item() + 1e-12
                assert torch.allclose(ours["grads"][name], grad, rtol=1e-4, atol=1e-5 * scale), (
                    step,
                    name,
                )
        assert single[0]["metrics"]["xbm"] > 0  # the memory takes part from the first step
