"""Seconds to classify 10,000 test images in eval mode, barenet vs the same PyTorch model.

barenet runs ``predict_proba`` (batch norm folded into the layer
before it, max-pooling without its winners) and, for comparison, the plain eval
forward pass over the same batches; PyTorch runs the identical network with the
same weights, ``eval()`` and ``no_grad()``, on the same batches, then a softmax; for
each ``--batch`` size in turn (default: barenet's own and 256).
Same number of threads for NumPy's BLAS and for PyTorch. The images are the real
MNIST test set when ``--data-dir`` holds it, else random ones.

Examples::

    python benchmarks/bench_inference.py --model runs/cnn0/best.npz --data-dir ../shared/data/mnist
    python benchmarks/bench_inference.py --threads 1 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from blas import blas_in_use  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from torch_twin import torch_model  # noqa: E402

import barenet as bn  # noqa: E402
from barenet.model.classifier import INFERENCE_BATCH  # noqa: E402
from barenet.nn.layers.batchnorm import _BatchNorm  # noqa: E402
from barenet.train import config as configs  # noqa: E402
from barenet.train.builder import build_model  # noqa: E402


def model_of(args: argparse.Namespace) -> bn.Sequential:
    if args.model:
        return bn.load(args.model)
    rng = np.random.default_rng(0)
    model = build_model(configs.load("cnn").model.table(), rng)
    for layer in model.layers:  # batch norm statistics as a trained model has them
        if isinstance(layer, _BatchNorm):
            c = layer.num_features
            layer.buffers["running_mean"][...] = rng.normal(0, 0.3, c)
            layer.buffers["running_var"][...] = rng.uniform(0.5, 2, c)
    return model


def images_of(args: argparse.Namespace) -> np.ndarray:
    if args.data_dir and Path(args.data_dir).is_dir():
        return bn.data.load_dataset("mnist", args.data_dir).test_images
    return np.random.default_rng(1).integers(0, 256, (10_000, 28, 28), dtype=np.uint8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a barenet model file (default: cnn.toml, random)")
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, nargs="+", default=[INFERENCE_BATCH, 256],
                        help="batch sizes, each given to both frameworks (default: barenet's "
                        f"own, {INFERENCE_BATCH}, and 256)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    model, images = model_of(args), images_of(args)
    twin = torch_model(model).eval()
    x = model.prepare_input(images)  # normalised as barenet does; both get the same input
    print(f"{len(images):,} images through {args.model or 'cnn.toml (random weights)'}, eval "
          f"mode, {args.threads} threads; NumPy: {blas_in_use()}")
    for batch in dict.fromkeys(args.batch):
        bench_batch(model, twin, images, x, batch, args.threads, args.repeat)


def bench_batch(model: bn.Sequential, twin, images: np.ndarray, x: np.ndarray, batch: int,
                threads: int, repeat: int) -> None:
    """Time the three runs on batches of ``batch``, alternating, and print their medians."""
    import torch

    def barenet_predict() -> np.ndarray:
        return model.predict_proba(images, batch)

    def barenet_plain() -> np.ndarray:
        with model.evaluating():
            logits = np.concatenate([model.forward(x[i:i + batch])
                                     for i in range(0, len(x), batch)])
        return model.probabilities(logits)

    def torch_predict() -> np.ndarray:
        with torch.no_grad():
            logits = torch.cat([twin(torch.from_numpy(x[i:i + batch]))
                                for i in range(0, len(x), batch)])
            return torch.softmax(logits / model.temperature, dim=1).numpy()

    runs = {"barenet": barenet_predict, "barenet plain": barenet_plain, "torch": torch_predict}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    answers = {}
    with threadpool_limits(limits=threads, user_api="blas"):
        for name, run in runs.items():
            answers[name] = run()  # warm-up, and the answers to compare
        for _ in range(repeat):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - start)
    same = (answers["barenet"].argmax(1) == answers["torch"].argmax(1)).mean()
    gap = np.abs(answers["barenet"] - answers["torch"]).max()
    print(f"\nbatches of {batch}: answers agree on {same:.2%} of images, probabilities "
          f"within {gap:.1e}")
    median = {name: statistics.median(times) for name, times in seconds.items()}
    for name, value in median.items():
        runs_text = " ".join(f"{t:.2f}" for t in seconds[name])
        print(f"{name:<14} {value:7.2f} s   runs {runs_text}")
    print(f"ratio barenet / PyTorch: {median['barenet'] / median['torch']:.2f} "
          f"(plain eval forward: {median['barenet plain'] / median['torch']:.2f})")


if __name__ == "__main__":
    main()
