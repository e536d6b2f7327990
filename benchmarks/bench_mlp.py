"""Seconds per epoch of the MLP 784-128-64-10, barenet vs the same model in PyTorch.

One epoch is 60,000 synthetic MNIST-shaped samples (N, 784) float32,
standardised as ``barenet train`` does, with MNIST's blank border. Units that
stop firing get exactly-zero gradients, and Adam's moments for them decay into
the slow subnormal range after about one epoch, so the first epoch is warm-up
and the figure reported is the median of epochs 2 and later. Each step is
what ``Trainer.train_batch`` does: forward, loss, backward, optimizer step
(Adam, lr 1e-3, batch 64 by default), on the same ``barenet.data.Batches``
for both frameworks. barenet's backward pass skips ``dL/dx`` of the network
input, which training never uses (``model.backward(g, input_grad=False)``;
``--input-grad`` times it with). PyTorch is used as shipped:
``nn.Sequential``, ``nn.CrossEntropyLoss``, ``torch.optim.Adam`` defaults,
starting from barenet's initial weights.

Each framework runs in its own worker process, so the peak memory printed
(``ru_maxrss``) is that framework's alone. It includes the libraries and
the 188 MB data set every worker holds: "setup MB" is the peak before the
first step, so the difference is what training itself added. The parent
alternates the workers epoch by epoch, so both see the same background load
on a shared machine; "CPU s" is the CPU time of an epoch (all threads), less
sensitive to that load than the wall-clock time, which is what is compared.
barenet runs as ``barenet train --threads N`` does: its layers' work on
``--threads`` threads (else what NumPy's BLAS would use by default) and BLAS on
one; PyTorch gets the same number of threads. An MLP's batches are too small
to split, so this is barenet on one thread against PyTorch on ``--threads``.

Examples::

    python benchmarks/bench_mlp.py
    python benchmarks/bench_mlp.py --epochs 8 --threads 1
    python benchmarks/bench_mlp.py --batch-size 128
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from blas import blas_in_use, blas_threads
from torch_twin import torch_model, train_step

SAMPLES = 60_000
LR = 1e-3


def synthetic_mnist(n: int, seed: int):
    """Standardised float32 (n, 784) images with a blank 4-pixel border; learnable labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.float32)
    for start in range(0, n, 10_000):  # in slices: no full-size temporaries
        inside = rng.random((min(10_000, n - start), 20, 20), dtype=np.float32)
        x[start:start + 10_000, 4:24, 4:24] = np.where(inside > 0.75, inside, 0)
    x = x.reshape(n, 784)
    x -= x.mean()
    x /= np.sqrt(np.dot(x.ravel(), x.ravel()) / x.size)  # the std, without a temporary
    teacher = rng.standard_normal((784, 10)).astype(np.float32)  # labels a model can learn
    return x, (x @ teacher).argmax(axis=1)


def barenet_model(seed: int):
    import numpy as np

    from barenet import Sequential
    from barenet.nn.layers import Linear, ReLU

    rng = np.random.default_rng(seed)
    return Sequential([Linear(784, 128, rng=rng), ReLU(), Linear(128, 64, rng=rng), ReLU(),
                       Linear(64, 10, rng=rng)])


def barenet_step(seed: int, input_grad: bool = False):
    """The training step: forward, loss, backward, Adam (``Trainer.train_batch`` unclipped).

    ``input_grad=False`` is the analogue of PyTorch's input tensor that does
    not require grad.
    """
    from barenet.nn.losses import SoftmaxCrossEntropy
    from barenet.nn.optim import Adam

    model = barenet_model(seed)
    loss_fn, optimizer = SoftmaxCrossEntropy(), Adam(model.parameters(), lr=LR)
    model.train()

    def step(x, y) -> float:
        loss = loss_fn(model.forward(x), y)
        model.backward(loss_fn.backward(), input_grad=input_grad)
        optimizer.step()
        return loss

    return step


def torch_step(seed: int, threads: int):
    """PyTorch as a user would write it, from the same initial weights as barenet."""
    import torch

    torch.set_num_threads(threads)
    model = torch_model(barenet_model(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    return train_step(model, optimizer, torch.nn.CrossEntropyLoss())


def worker(framework: str, args: argparse.Namespace) -> None:
    """Build data and model, then run one epoch per 'epoch' line read from stdin."""
    import numpy as np

    from barenet.data import Batches

    x, y = synthetic_mnist(SAMPLES, args.seed)
    if framework == "barenet":  # as barenet train runs: layers on the threads, BLAS on one
        from barenet.nn.kernels import parallel

        held = parallel.training_threads(args.threads)
        held.__enter__()  # for the rest of this process (kept alive by the name)
        step = barenet_step(args.seed, args.input_grad)
        threads = f"{args.threads} layer thread(s), {blas_in_use()}"
    else:
        import torch

        step = torch_step(args.seed, args.threads)
        threads = str(torch.get_num_threads())
    batches = Batches(x, y, args.batch_size, np.random.default_rng(args.seed + 1))
    setup_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"threads": threads}), flush=True)
    for line in sys.stdin:
        if line.strip() != "epoch":
            break
        total, start, cpu_start = 0.0, time.perf_counter(), time.process_time()
        for xb, yb in batches:
            total += step(xb, yb) * len(yb)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        print(json.dumps({"seconds": seconds, "cpu": cpu, "loss": total / SAMPLES}), flush=True)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "setup_mb": setup_mb}), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5,
                        help="epochs per framework, at least 2; epoch 1 is warm-up")
    parser.add_argument("--threads", type=int, default=blas_threads(),
                        help="BLAS threads for NumPy and torch.set_num_threads "
                             "(default: what NumPy's BLAS uses, here %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-grad", action="store_true",
                        help="barenet also computes dL/dx of the network input "
                             "(Sequential.backward's default)")
    parser.add_argument("--worker", choices=("barenet", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch is not timed")
    if args.worker:
        worker(args.worker, args)
        return

    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    options = ["--batch-size", str(args.batch_size), "--seed", str(args.seed),
               "--threads", str(args.threads)] + ["--input-grad"] * args.input_grad
    workers = {name: subprocess.Popen([sys.executable, __file__, "--worker", name, *options],
                                      env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      text=True)
               for name in ("barenet", "torch")}

    def ask(name: str, command: str) -> dict:
        process = workers[name]
        process.stdin.write(command + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            sys.exit(f"the {name} worker failed (exit code {process.wait()})")
        return json.loads(line)

    threads = {name: json.loads(p.stdout.readline() or "{}").get("threads", "?")
               for name, p in workers.items()}
    epochs: dict[str, list[dict]] = {name: [] for name in workers}
    for epoch in range(args.epochs):  # alternate, so both see the same background load
        for name in workers:
            epochs[name].append(ask(name, "epoch"))
            print(f"epoch {epoch + 1} {name:8} {epochs[name][-1]['seconds']:6.2f} s  "
                  f"loss {epochs[name][-1]['loss']:.4f}", file=sys.stderr, flush=True)
    memory = {name: ask(name, "quit") for name in workers}
    for process in workers.values():
        process.wait()

    print(f"MLP 784-128-64-10, Adam, batch {args.batch_size}, float32, "
          f"{SAMPLES:,} samples/epoch; NumPy: {threads['barenet']}; "
          f"PyTorch: {threads['torch']} threads")
    print(f"median of epochs 2-{args.epochs} (epoch 1 is warm-up)")
    print(f"{'':9}{'s/epoch':>8}{'CPU s':>7}{'peak MB':>9}{'setup MB':>10}  every epoch (s)")
    median = {}
    for name, runs in epochs.items():
        median[name] = statistics.median(r["seconds"] for r in runs[1:])
        cpu = statistics.median(r["cpu"] for r in runs[1:])
        every = " ".join(f"{r['seconds']:.2f}" for r in runs)
        print(f"{name:9}{median[name]:8.3f}{cpu:7.2f}{memory[name]['peak_mb']:9.0f}"
              f"{memory[name]['setup_mb']:10.0f}  {every}")
    print(f"ratio barenet / PyTorch: {median['barenet'] / median['torch']:.2f}")


if __name__ == "__main__":
    main()
