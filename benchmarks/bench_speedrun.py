"""The speedrun, timed whole: ``barenet train --config speedrun`` against the same recipe
in PyTorch, wall time from start to test accuracy, data loading included.

barenet: the command itself, in a subprocess, as a user types it. PyTorch: the
same model (built by barenet's builder, so the same initial weights), the same
data (read and standardised by barenet's loader), batches in the same shuffled
order, AdamW with the same learning rate at every step (barenet's warm-up and
cosine schedule), the same label smoothing and epochs, then the test accuracy.
Both get the same threads (``--threads``; barenet's layers, BLAS one thread, as
``barenet train`` runs; PyTorch's intra-op threads).

Example::

    python benchmarks/bench_speedrun.py --data-dir ../shared/data/mnist --repeat 2
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def run_barenet(data_dir: str, threads: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "barenet.cli.main", "train", "--config",
                              "speedrun", "--data-dir", data_dir, "--out", f"{folder}/run",
                              "--threads", str(threads)],
                             capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - start
    accuracy = float(re.search(r"test accuracy: ([\d.]+)%", out.stdout).group(1)) / 100
    return seconds, accuracy


def run_torch(data_dir: str, threads: int, seed: int = 0) -> tuple[float, float]:
    start = time.perf_counter()
    import torch
    from torch_twin import torch_model

    from barenet.data import load_dataset, prepare
    from barenet.train import config as configs
    from barenet.train.builder import build_model, build_schedule

    torch.set_num_threads(threads)
    config = configs.load("speedrun")
    data = prepare(load_dataset("mnist", data_dir), val_size=config.validation_size,
                   standardize=config.standardize)
    init_seed, shuffle_seed, _ = np.random.SeedSequence(config.seed).spawn(3)
    model = torch_model(build_model(config.model.table(), np.random.default_rng(init_seed)))
    options = dict(config.optimizer.options)
    optimizer = torch.optim.AdamW(model.parameters(), **options)
    schedule = build_schedule(config.to_dict(), options["lr"])
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    shape = (-1, *config.model.input_shape)
    x = torch.from_numpy(data.x_train.reshape(shape))
    y = torch.from_numpy(data.y_train.astype(np.int64))
    rng = np.random.default_rng(shuffle_seed)
    batch, batches = config.batch_size, math.ceil(len(y) / config.batch_size)
    model.train()
    for epoch in range(config.epochs):
        order = torch.from_numpy(rng.permutation(len(y)))
        for b in range(batches):
            for group in optimizer.param_groups:
                group["lr"] = schedule(epoch + b / batches)
            index = order[b * batch:(b + 1) * batch]
            optimizer.zero_grad()
            loss_fn(model(x[index]), y[index]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(data.x_test.reshape(shape)))
    accuracy = float((logits.argmax(1).numpy() == data.y_test).mean())
    return time.perf_counter() - start, accuracy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # PyTorch in its own process, as barenet's command is
        print(*run_torch(args.data_dir, args.threads))
        return
    results: dict[str, list[tuple[float, float]]] = {"barenet": [], "torch": []}
    for _ in range(args.repeat):  # alternate, so both see the same background load
        results["barenet"].append(run_barenet(args.data_dir, args.threads))
        out = subprocess.run([sys.executable, __file__, "--worker", "--data-dir", args.data_dir,
                              "--threads", str(args.threads)], capture_output=True, text=True,
                             check=True)
        seconds, accuracy = map(float, out.stdout.split())
        results["torch"].append((seconds, accuracy))
    print(f"speedrun.toml on MNIST, {args.threads} threads, median of {args.repeat} run(s); "
          "wall time of the whole run, data loading included")
    median = {}
    for name, runs in results.items():
        median[name] = statistics.median(s for s, _ in runs)
        shown = ", ".join(f"{s:.1f} s {a:.2%}" for s, a in runs)
        print(f"{name:<8} {median[name]:6.1f} s   runs: {shown}")
    print(f"ratio barenet / PyTorch: {median['barenet'] / median['torch']:.2f}")


if __name__ == "__main__":
    main()
