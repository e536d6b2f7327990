"""Seconds per epoch of a CNN, barenet vs the identical PyTorch model on the CPU.

One epoch is 60,000 synthetic MNIST-shaped images (N, 1, 28, 28) float32:
forward, backward and an Adam step per batch, same batch size, same number of
threads for NumPy's BLAS and for PyTorch. Each framework runs in its own
subprocess (so the peak memory is its own), one after the other, and the
script prints seconds per epoch, the ratio and the memory: the resident set
once data and model exist, its peak during training (Linux: VmHWM after
resetting it, otherwise ``ru_maxrss``) and the difference, the memory the
training steps themselves need.

A full epoch takes about half a minute per framework on one thread;
``--batches N`` (or ``--epochs 0.1``) times that many batches after
``--warmup`` batches and extrapolates to a full epoch. The report names
NumPy's BLAS kernels (``blas.py``: machines that force older kernels through
``OPENBLAS_CORETYPE`` are slower).

The architecture, batch size, optimizer (Adam or AdamW) and label smoothing
come from ``--config`` (default ``configs/cnn.toml`` when it exists; data
augmentation and the learning-rate schedule are left out), else from the
built-in default (``--config default``), with Adam(lr=1e-3)::

    Conv(1->32, 3, pad 1)-BN-ReLU-Conv(32->32, 3, pad 1)-BN-ReLU-MaxPool 2
    -Conv(32->64, 3, pad 1)-BN-ReLU-Conv(64->64, 3, pad 1)-BN-ReLU-MaxPool 2
    -Flatten-Linear(3136->128)-BN1d-ReLU-Dropout 0.5-Linear(128->10), batch 128

Examples::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_cnn.py --threads 1
    python benchmarks/bench_cnn.py --batches 40
    python benchmarks/bench_cnn.py --config default --batches 20 --repeat 3 --threads 1
    python benchmarks/bench_cnn.py --epochs 1
    python benchmarks/bench_cnn.py --only barenet --batches 20 --layer-times
    python benchmarks/bench_cnn.py --only barenet --batches 20 --profile
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from blas import blas_in_use
from torch_twin import torch_model, train_step

EPOCH_SAMPLES = 60_000
ROOT = Path(__file__).resolve().parent.parent

DEFAULT_MODEL: dict[str, Any] = {
    "input_shape": [1, 28, 28],
    "layers": [
        {"type": "Conv2d", "out_channels": 32, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d"}, {"type": "ReLU"},
        {"type": "Conv2d", "out_channels": 32, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d"}, {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2},
        {"type": "Conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d"}, {"type": "ReLU"},
        {"type": "Conv2d", "out_channels": 64, "kernel_size": 3, "padding": 1},
        {"type": "BatchNorm2d"}, {"type": "ReLU"}, {"type": "MaxPool2d", "kernel_size": 2},
        {"type": "Flatten"},
        {"type": "Linear", "out_features": 128}, {"type": "BatchNorm1d"}, {"type": "ReLU"},
        {"type": "Dropout", "p": 0.5},
        {"type": "Linear", "out_features": 10},
    ],
}


def load_setup(args: argparse.Namespace) -> dict[str, Any]:
    """Model spec, batch size, optimizer and label smoothing: from the config or the defaults.

    ``--config default`` (or no configs/cnn.toml) selects the built-in architecture
    with Adam(lr=1e-3) and batch 128.
    """
    setup: dict[str, Any] = {"source": "built-in default", "model": DEFAULT_MODEL,
                             "batch_size": 128, "optimizer": {"name": "adam", "lr": 1e-3},
                             "label_smoothing": 0.0}
    path = ROOT / "configs" / "cnn.toml" if args.config is None else Path(args.config)
    if args.config != "default" and path.is_file():
        import tomllib

        with open(path, "rb") as handle:
            config = tomllib.load(handle)
        setup.update({key: config[key] for key in setup if key in config}, source=str(path))
        setup["optimizer"] = {"lr": 1e-3, **config.get("optimizer", {})}
    elif args.config not in (None, "default"):
        sys.exit(f"{path}: no such config file")
    if setup["optimizer"]["name"] not in ("adam", "adamw"):
        sys.exit(f"this benchmark knows Adam and AdamW, not {setup['optimizer']['name']!r}")
    if args.batch_size:
        setup["batch_size"] = args.batch_size
    return setup


def synthetic_mnist(n: int, seed: int):
    """MNIST-shaped float32 images: blank 4-pixel borders, strokes inside, standardised."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, 28, 28), np.float32)
    inside = rng.random((n, 1, 20, 20), dtype=np.float32)
    x[:, :, 4:24, 4:24] = np.where(inside > 0.75, inside, 0)
    x -= x.mean()
    x /= x.std()
    return x, rng.integers(0, 10, n)


def resident_mb(field: str) -> float | None:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process in MB, None without /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_memory() -> None:
    """Restart VmHWM from the current resident set (Linux >= 4.0), if allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


# -- the two frameworks ----------------------------------------------------------------


def barenet_step(setup: dict[str, Any], seed: int, layer_times: dict | None):
    import numpy as np

    from barenet.nn.losses import SoftmaxCrossEntropy
    from barenet.nn.optim import OPTIMIZERS
    from barenet.train.builder import build_model

    model = build_model(setup["model"], np.random.default_rng(seed))
    if layer_times is not None:
        time_layers(model, layer_times)
    options = dict(setup["optimizer"])
    optimizer = OPTIMIZERS[options.pop("name")](model.parameters(), **options)
    loss_fn = SoftmaxCrossEntropy(setup["label_smoothing"])
    model.train()

    def step(x, y) -> float:
        loss = loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward(), input_grad=False)  # as Trainer.train_batch
        optimizer.step()
        return loss

    return model, step


def time_layers(model, totals: dict) -> None:
    """Wrap each layer's forward and backward to add their seconds to ``totals``."""
    for i, layer in enumerate(model.layers):
        for name in ("forward", "backward"):
            key = f"{i:2d} {type(layer).__name__:<12} {name}"
            totals[key] = 0.0

            setattr(layer, name, timed(getattr(layer, name), key, totals))


def timed(method, key: str, totals: dict):
    def run(arg):
        start = time.perf_counter()
        out = method(arg)
        totals[key] += time.perf_counter() - start
        return out

    return run


def torch_step(barenet_model, setup: dict[str, Any]):
    """The same network in PyTorch, starting from the same weights."""
    import torch

    model = torch_model(barenet_model)
    options = dict(setup["optimizer"])
    optimizer = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[options.pop("name")](
        model.parameters(), **options)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=setup["label_smoothing"])
    return train_step(model, optimizer, loss_fn)


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """Time one framework in this process; returns the measurements."""
    import numpy as np

    setup = load_setup(args)
    batch_size = setup["batch_size"]
    x, y = synthetic_mnist(EPOCH_SAMPLES, args.seed)
    layer_times: dict | None = {} if args.layer_times else None
    model, step = barenet_step(setup, args.seed, layer_times)
    if args.only != "torch":  # as barenet train runs: its layers on the threads, BLAS on one
        from barenet.nn.kernels import parallel

        threads = args.layer_threads or args.threads
        held = parallel.training_threads(threads)  # for the rest of this process
        held.__enter__()
        setup["threads_held"] = held  # kept alive: its exit would undo the setting
    if args.only == "torch":
        import torch

        torch.set_num_threads(args.threads)
        step = torch_step(model, setup)
    per_epoch = math.ceil(EPOCH_SAMPLES / batch_size)
    batches = args.batches or max(1, round(args.epochs * per_epoch))
    order = np.random.default_rng(args.seed).permutation(EPOCH_SAMPLES)
    rss_before = resident_mb("VmRSS")
    reset_peak_memory()

    def batch(i: int):
        idx = order[(i * batch_size) % EPOCH_SAMPLES:][:batch_size]
        return x[idx], y[idx]

    for i in range(args.warmup):
        step(*batch(i))
    if layer_times is not None:
        layer_times.update(dict.fromkeys(layer_times, 0.0))
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    losses, start, cpu_start = [], time.perf_counter(), time.process_time()
    for i in range(args.warmup, args.warmup + batches):
        losses.append(step(*batch(i)))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    if layer_times is not None:
        total = sum(layer_times.values())
        for key, t in sorted(layer_times.items(), key=lambda kv: -kv[1]):
            print(f"{key}  {1000 * t / batches:7.2f} ms/batch  {100 * t / total:5.1f}%",
                  file=sys.stderr)
        print(f"all layers {1000 * total / batches:.1f} ms/batch of {1000 * seconds / batches:.1f}",
              file=sys.stderr)
    return {"framework": args.only, "blas": blas_in_use(), "batches": batches,
            "batch_size": batch_size, "seconds": seconds,
            "epoch_seconds": seconds / batches * per_epoch,
            "cpu_epoch_seconds": cpu_seconds / batches * per_epoch,
            "peak_mb": resident_mb("VmHWM")
            or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "before_mb": rss_before or 0.0, "first_loss": losses[0], "last_loss": losses[-1]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="TOML config with a [model] table (default: "
                                         "configs/cnn.toml if present); 'default': built-in")
    parser.add_argument("--batch-size", type=int, help="override the config's batch size")
    parser.add_argument("--batches", type=int, help="time this many batches and extrapolate")
    parser.add_argument("--epochs", type=float, default=1.0,
                        help="fraction of an epoch to time when --batches is not given")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / PyTorch threads")
    parser.add_argument("--layer-threads", type=int, default=0,
                        help="threads for barenet's layers (default: --threads; BLAS then "
                             "gets one, as in barenet train)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate barenet and PyTorch runs this many times; report medians")
    parser.add_argument("--only", choices=("barenet", "torch"),
                        help="run one framework in this process and print JSON")
    parser.add_argument("--layer-times", action="store_true",
                        help="barenet: print time per layer forward/backward")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed batches")
    args = parser.parse_args(argv)

    if args.only:
        print(json.dumps(run_one(args)))
        return
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    runs: dict[str, list[dict[str, Any]]] = {"barenet": [], "torch": []}
    for _ in range(args.repeat):  # alternate, so both see the same background load
        for framework in runs:
            command = [sys.executable, __file__, "--only", framework, *(argv or sys.argv[1:])]
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            sys.stderr.write(out.stderr)
            runs[framework].append(json.loads(out.stdout.strip().splitlines()[-1]))
    setup = load_setup(args)
    first = runs["barenet"][0]
    print(f"CNN of {setup['source']}, {setup['optimizer']['name']}, "
          f"batch {setup['batch_size']}, {args.threads} threads, {first['batches']} timed batches "
          f"after {args.warmup} warm-up, extrapolated to {EPOCH_SAMPLES:,} samples; "
          f"median of {args.repeat} alternating run(s)\nNumPy: {first['blas']}")
    print(f"{'':10}{'s/epoch':>9}{'runs':>24}{'CPU s/epoch':>13}{'RSS MB: data':>14}"
          f"{'peak':>6}{'training':>10}{'loss':>16}")
    medians = {}
    for name, results in runs.items():
        times = sorted(r["epoch_seconds"] for r in results)
        medians[name] = statistics.median(times)
        last = results[-1]
        cpu = statistics.median(r["cpu_epoch_seconds"] for r in results)
        runs_text = " ".join(f"{t:.1f}" for t in times)
        print(f"{name:10}{medians[name]:9.1f} {runs_text:>23}{cpu:13.1f}"
              f"{last['before_mb']:14.0f}{last['peak_mb']:6.0f}"
              f"{last['peak_mb'] - last['before_mb']:10.0f}"
              f"{last['first_loss']:8.3f}->{last['last_loss']:.3f}")
    print(f"ratio barenet / PyTorch: {medians['barenet'] / medians['torch']:.2f}")

if __name__ == "__main__":
    main()
