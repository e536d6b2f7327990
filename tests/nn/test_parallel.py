"""The thread pool (nn/kernels/parallel.py): a layer's work split over 1, 2 or 3 threads
gives the same bits, in training and in eval mode."""

import numpy as np
import pytest

from barenet.nn.layers import BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d


@pytest.mark.parametrize("make, shape", [
    (lambda: MaxPool2d(2), (8, 6, 28, 28)),
    (lambda: MaxPool2d(3, stride=2, padding=1), (8, 6, 15, 15)),
    (lambda: BatchNorm2d(6), (8, 6, 28, 28)),
    (lambda: BatchNorm1d(300), (512, 300)),
    # products sliced at 256 columns or rows: these are large enough to be
    (lambda: Conv2d(1, 8, 3, padding=1, rng=0), (8, 1, 28, 28)),  # per-image weight gradient
    (lambda: Conv2d(6, 8, 3, padding=1, rng=0), (8, 6, 14, 14)),  # im2col's runs, one product
    (lambda: Conv2d(6, 4, 3, stride=2, rng=0), (32, 6, 15, 15)),  # windows path
    (lambda: Conv2d(32, 64, 3, padding=1, rng=0), (8, 32, 14, 14)),  # cnn.toml's second
    (lambda: Conv2d(64, 128, 3, padding=1, rng=0), (8, 64, 7, 7)),  # and third
    (lambda: Conv2d(16, 32, 3, padding=1, bias=False, rng=0), (16, 16, 14, 14)),  # speedrun's
    (lambda: Conv2d(32, 64, 3, padding=1, bias=False, rng=0), (16, 32, 7, 7)),  # 2nd and 3rd
    (lambda: BatchNorm2d(32), (16, 32, 7, 7)),  # the speedrun's, after pooling
])
@pytest.mark.parametrize("training", [True, False])
def test_layer_work_split_over_threads_gives_the_same_bits(rng, make, shape, training,
                                                           monkeypatch):
    from barenet.nn.kernels import parallel

    monkeypatch.setattr(parallel, "MIN_VALUES", 0)  # split even these small arrays
    x = rng.standard_normal(shape).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        parallel.set_threads(threads)
        try:
            layer = make().train(training)
            y = layer.forward(x)
            dx = layer.backward(np.cos(y))
            results.append([y, dx] + [p.grad.copy() for p in layer.parameters()]
                           + [b.copy() for b in layer.buffers.values()])
        finally:
            parallel.set_threads(1)
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
