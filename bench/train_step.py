"""Training throughput: our retrieval step against a plain timm classification step.

Both steps train the same backbone on the same uint8 batches (normalised inside the
network, as in our exported model) with AdamW. Ours adds what retrieval training costs on
top: the class-balanced sampler, the contrastive loss over the batch and over the
cross-batch memory, the KoLeo term, the memory update and, with --momentum, the momentum
encoder's forward pass and update. Both use the same drop path. The two steps alternate, one of
each per round, so a machine whose load changes during the run slows both alike, and the
rate is taken from the median step time, which a passing load spike does not move.

    python bench/train_step.py [--arch A] [--batch-size N] [--input-size S] [--device D]

The defaults (ViT-Tiny at 112 px) take about a minute on a 2-core CPU; on a GPU use the
paper's setting: --arch deit_small_patch16_224 --input-size 224 --batch-size 64.

The last line printed is one JSON object: ours, baseline, ratio (ours / baseline), unit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import timm
import torch
import torch.nn.functional as F

from trainer.config import FinetuneConfig
from trainer.distributed import resolve_device
from trainer.engine import Trainer
from trainer.export import UInt8ImageWrapper
from trainer.model import create_descriptor_net
from trainer.sampler import ClassBalancedBatchSampler

PHOTOS_PER_LABEL = 8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", default="vit_tiny_patch16_224", help="any timm ViT")
    parser.add_argument("--input-size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--m", type=int, default=2, help="photos per label in a batch")
    parser.add_argument("--xbm", type=int, default=1024, help="cross-batch memory size")
    parser.add_argument("--koleo", type=float, default=0.7)
    parser.add_argument("--momentum", type=float, default=0.0, help="momentum encoder, 0 = off")
    parser.add_argument("--drop-path", type=float, default=0.1)
    parser.add_argument("--steps", type=int, default=5, help="timed steps of each kind")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps of each kind")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    device = resolve_device(args.device)
    num_labels = max(args.batch_size // args.m, 2) * 4
    labels = np.repeat(np.arange(num_labels), PHOTOS_PER_LABEL)
    generator = torch.Generator().manual_seed(0)
    size = args.input_size
    bank = torch.randint(0, 256, (len(labels), size, size, 3), generator=generator)
    bank, label_tensor = bank.to(torch.uint8), torch.from_numpy(labels)
    total = args.warmup + args.steps

    torch.manual_seed(0)
    config = FinetuneConfig(
        arch=args.arch, input_size=size, batch_size=args.batch_size, m=args.m,
        xbm=args.xbm, koleo=args.koleo, momentum=args.momentum, drop_path=args.drop_path,
        device=args.device,
    )  # fmt: skip
    net = create_descriptor_net(config.model_config())
    ours = Trainer(net, config, num_steps=total, device=device)
    sampler = iter(ClassBalancedBatchSampler(labels, args.batch_size, args.m, num_steps=total))

    torch.manual_seed(0)
    classifier = timm.create_model(
        args.arch, img_size=size, num_classes=num_labels, drop_path_rate=args.drop_path
    )
    baseline = UInt8ImageWrapper(_Logits(classifier)).to(device).train()
    optimizer = torch.optim.AdamW(classifier.parameters(), lr=config.lr, weight_decay=5e-4)

    def our_step() -> None:
        indices = [i for i, _ in next(sampler)]
        ours.train_step(bank[indices], label_tensor[indices])

    def baseline_step() -> None:
        indices = torch.randint(0, len(labels), (args.batch_size,), generator=generator)
        images = bank[indices].to(device, non_blocking=True)
        targets = label_tensor[indices].to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, torch.bfloat16, enabled=device.type == "cuda"):
            logits = baseline(images)
        loss = F.cross_entropy(logits.float(), targets)
        loss.backward()
        optimizer.step()
        loss.item()  # wait for the device, as our step does when it reads its loss

    seconds: dict[str, list[float]] = {"ours": [], "baseline": []}
    for round_ in range(total):
        for name, step in (("ours", our_step), ("baseline", baseline_step)):
            start = time.perf_counter()
            step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if round_ >= args.warmup:
                seconds[name].append(time.perf_counter() - start)
    rates = {name: args.batch_size / statistics.median(s) for name, s in seconds.items()}
    print(
        f"{args.arch} at {size}px, batch {args.batch_size}, {args.steps} timed steps each on "
        f"{device}: ours {rates['ours']:.1f} images/s (xbm {args.xbm}, koleo {args.koleo}, "
        f"momentum {args.momentum}), "
        f"timm classification {rates['baseline']:.1f} images/s"
    )
    result = {
        "ours": round(rates["ours"], 2),
        "baseline": round(rates["baseline"], 2),
        "ratio": round(rates["ours"] / rates["baseline"], 3),
        "unit": "images/s",
    }
    print(json.dumps(result))


class _Logits(torch.nn.Module):
    """A timm classifier behind the same uint8 wrapper our network uses."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def data_config(self) -> dict:
        return timm.data.resolve_model_data_config(self.model)


if __name__ == "__main__":
    main()
