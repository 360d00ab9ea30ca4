"""Two CPU processes (gloo) compute the same loss and gradients as one on the global batch."""

from __future__ import annotations

import math
import os
import socket
import time

import pytest
import torch
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from trainer import distributed
from trainer.config import FinetuneConfig
from trainer.engine import Trainer, learning_rate, step_seed
from trainer.model import create_descriptor_net

from .conftest import tiny_config

STEPS, BATCH, RANKS = 3, 8, 2
CONFIG = tiny_config(
    batch_size=BATCH, xbm=12, momentum=0.9, koleo=0.7, clip_grad=5.0, drop_path=0.0
)
# timm's drop_rate is the classifier head's dropout, which forward_features never reaches:
# the descriptor sees proj_drop_rate (after attention and in the MLP), attn_drop_rate and
# the drop path. The memory holds the batch's own descriptors (no momentum encoder, whose
# forward the replay below would have to repeat): only the dropout masks differ by rank.
DROPOUT_CONFIG = tiny_config(
    batch_size=BATCH,
    xbm=12,
    koleo=0.7,
    clip_grad=5.0,
    drop_path=0.2,
    model_kwargs={"depth": 2, "proj_drop_rate": 0.1, "attn_drop_rate": 0.1},
)


def global_batches():
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (STEPS, BATCH, 32, 32, 3), generator=generator)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]).repeat(STEPS, 1)
    return images.to(torch.uint8), labels


def rank_slice(rank: int, ranks: int = RANKS) -> slice:
    """Rank `rank`'s part of a global batch split over `ranks` processes."""
    part = BATCH // ranks
    return slice(rank * part, (rank + 1) * part)


def make_trainer(config: FinetuneConfig, world: distributed.World) -> Trainer:
    """A trainer on the network `config` describes, with the same initial weights each call."""
    torch.manual_seed(0)
    net = create_descriptor_net(config.model_config())
    return Trainer(net, config, num_steps=STEPS, device=torch.device("cpu"), world=world)


def run_steps(world: distributed.World, config: FinetuneConfig = CONFIG) -> list[dict]:
    """STEPS training steps on this rank's slice; loss terms and gradients after each."""
    trainer = make_trainer(config, world)
    images, labels = global_batches()
    mine = rank_slice(world.rank, world.size)
    results = []
    for step in range(STEPS):
        metrics = trainer.train_step(images[step, mine], labels[step, mine])
        grads = {name: p.grad.clone() for name, p in trainer.net.named_parameters()}
        ddp = isinstance(trainer.model, DistributedDataParallel)
        results.append({"metrics": metrics, "grads": grads, "ddp": ddp})
    return results


def ddp_worker(rank: int, world_size: int, port: int, out_dir: str, config: FinetuneConfig) -> None:
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
        torch.save(run_steps(world, config), os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        distributed.close(world)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_processes(out_dir, config: FinetuneConfig, ranks: int = RANKS) -> list[list[dict]]:
    """`run_steps` with `config` on `ranks` gloo processes; each rank's results."""
    # forkserver: a clean process imports torch and timm once and forks each child from
    # itself, so children start in a second yet inherit nothing from this process, whose
    # autograd threads (started by any backward pass before) would break autograd in a
    # forked child
    mp.set_forkserver_preload(["torch", "timm", "trainer.engine", __name__])
    context = mp.start_processes(
        ddp_worker,
        args=(ranks, free_port(), str(out_dir), config),
        nprocs=ranks,
        join=False,
        start_method="forkserver",
    )
    deadline = time.monotonic() + 120
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the training processes did not finish within 120 s")
    return [torch.load(out_dir / f"rank{r}.pt", weights_only=False) for r in range(ranks)]


@pytest.fixture(scope="module")
def two_process_results(tmp_path_factory):
    return run_processes(tmp_path_factory.mktemp("ddp"), CONFIG)


@pytest.fixture(scope="module")
def two_process_dropout_results(tmp_path_factory):
    return run_processes(tmp_path_factory.mktemp("ddp-dropout"), DROPOUT_CONFIG)


def assert_same_steps(ours: list[dict], theirs: list[dict]) -> None:
    """Every step's metrics (rel 1e-5) and parameter gradients (rel 1e-4) agree."""
    assert len(ours) == len(theirs) == STEPS
    for step in range(STEPS):
        assert set(ours[step]["metrics"]) == set(theirs[step]["metrics"])
        for term, value in theirs[step]["metrics"].items():
            assert ours[step]["metrics"][term] == pytest.approx(value, rel=1e-5), (step, term)
        for name, grad in theirs[step]["grads"].items():
            scale = grad.abs().max().item() + 1e-12
            assert torch.allclose(ours[step]["grads"][name], grad, rtol=1e-4, atol=1e-5 * scale), (
                step,
                name,
            )


def test_both_ranks_hold_the_same_gradients(two_process_results):
    rank0, rank1 = two_process_results
    for step in range(STEPS):
        for name, grad in rank0[step]["grads"].items():
            assert torch.equal(grad, rank1[step]["grads"][name]), name


def test_two_processes_equal_one_process(two_process_results):
    single = run_steps(distributed.World())
    for rank_results in two_process_results:
        assert_same_steps(rank_results, single)
    assert single[0]["metrics"]["xbm"] > 0  # the memory takes part from the first step
    assert all(step["ddp"] for rank in two_process_results for step in rank)
    assert not any(step["ddp"] for step in single)


def test_one_torchrun_process_trains_through_ddp_as_one_process(tmp_path):
    """`torchrun --nproc_per_node 1` joins a process group and wraps the network in DDP (so
    the GPU check exercises them on one GPU), and trains exactly as a plain process."""
    (alone,) = run_processes(tmp_path, CONFIG, ranks=1)
    assert all(step["ddp"] for step in alone)
    assert_same_steps(alone, run_steps(distributed.World()))


def replay_ranks_in_one_process(config: FinetuneConfig) -> list[dict]:
    """The two-rank run replayed by one process: each step forwards rank r's half of the
    global batch under rank r's step seed, then takes the loss over the whole batch and makes
    the optimizer step (learning rate, clipping) as `Trainer.train_step` does."""
    trainer = make_trainer(config, distributed.World())
    images, labels = global_batches()
    results = []
    for step in range(STEPS):
        lr = learning_rate(step, config, STEPS)
        for group in trainer.optimizer.param_groups:
            group["lr"] = lr
        trainer.optimizer.zero_grad(set_to_none=True)
        halves = []
        for rank in range(RANKS):
            torch.manual_seed(step_seed(config.seed, step, rank))
            halves.append(trainer.model(images[step, rank_slice(rank)]))
        terms = trainer.objective(torch.cat(halves), labels[step])
        terms["loss"].backward()
        max_norm = config.clip_grad if config.clip_grad > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(trainer.net.parameters(), max_norm)
        trainer.optimizer.step()
        trainer.step += 1
        metrics = {name: float(value.detach()) for name, value in terms.items()}
        metrics.update(lr=lr, grad_norm=float(grad_norm))
        grads = {name: p.grad.clone() for name, p in trainer.net.named_parameters()}
        results.append({"metrics": metrics, "grads": grads})
    return results


def test_two_processes_with_dropout_equal_one_process_replaying_each_ranks_seed(
    two_process_dropout_results,
):
    """With dropout and drop path on, each rank draws its masks from its own step seed; one
    process forwarding each half under that rank's seed reproduces both ranks' steps."""
    replay = replay_ranks_in_one_process(DROPOUT_CONFIG)
    assert set(replay[0]["metrics"]) == {"loss", "contrastive", "xbm", "koleo", "lr", "grad_norm"}
    for rank_results in two_process_dropout_results:
        assert_same_steps(rank_results, replay)


def test_ranks_draw_different_dropout_masks():
    """The same images forwarded in train mode under rank 0's and rank 1's step seed give
    different descriptors (and under the same seed, identical ones): the masks depend on
    the rank, so the ranks do not drop the same units."""
    trainer = make_trainer(DROPOUT_CONFIG, distributed.World())
    images = global_batches()[0][0, rank_slice(0)]

    def descriptors(rank: int) -> torch.Tensor:
        torch.manual_seed(step_seed(DROPOUT_CONFIG.seed, 0, rank))
        with torch.no_grad():
            return trainer.model(images)

    assert trainer.model.training
    assert torch.equal(descriptors(0), descriptors(0))
    difference = (descriptors(0) - descriptors(1)).abs().max().item()
    assert difference > 1e-3
