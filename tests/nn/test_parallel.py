"""Every optimised kernel against the plain textbook version written before its layer.

The fast paths (in-place Adam, MaxPool2d's running maximum and its two backward
paths, Conv2d's per-image weight gradient, batch norm's sums as matrix-vector
products) must compute the numbers docs/math.md's formulas give, in float64.
im2col and col2im have their loop references in test_layers_im2col.py.
"""

import numpy as np
import pytest

from barenet.nn.layers import BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d
from barenet.nn.layers.batchnorm import batch_norm, batch_norm_backward
from barenet.nn.layers.conv import conv2d, conv2d_backward
from barenet.nn.layers.maxpool import max_pool2d, max_pool2d_backward
from barenet.nn.module import Parameter
from barenet.nn.optim import Adam, AdamW
from barenet.nn.optim.adam import adam_reference

TIGHT = {"rtol": 1e-12, "atol": 1e-12}


@pytest.mark.parametrize("cls, options", [
    (Adam, {}),
    (Adam, {"weight_decay": 0.1}),
    (AdamW, {"weight_decay": 0.05}),
    (Adam, {"betas": (0.5, 0.9), "eps": 1e-3, "lr": 0.1}),
])
def test_adam_update_matches_the_textbook_step(rng, cls, options):
    shapes = [(5, 4), (4,), (3, 2, 2)]
    params = [Parameter(rng.standard_normal(s), "w") for s in shapes]
    optimizer = cls(params, **options)
    plain = [(p.data.copy(), np.zeros(p.data.shape), np.zeros(p.data.shape)) for p in params]
    lr = options.get("lr", 1e-3)
    betas, eps = options.get("betas", (0.9, 0.999)), options.get("eps", 1e-8)
    decay = options.get("weight_decay", optimizer.weight_decay)
    for t in range(1, 8):
        for p in params:
            p.grad[...] = rng.standard_normal(p.data.shape)
        plain = [adam_reference(w, p.grad, m, v, t, lr, betas, eps, decay, cls is AdamW)
                 for (w, m, v), p in zip(plain, params, strict=True)]
        optimizer.step()
        for (w, m, v), p, s in zip(plain, params, optimizer.state, strict=True):
            np.testing.assert_allclose(p.data, w, **TIGHT)
            np.testing.assert_allclose(s["m"], m, **TIGHT)
            np.testing.assert_allclose(s["v"], v, **TIGHT)


# (N, C, H, W), kernel, stride, padding: side-by-side windows take MaxPool2d's direct
# backward, the others (overlap, padding, uncovered edge rows) the scatter-add.
POOLS = [
    ((2, 3, 8, 8), 2, None, 0),
    ((2, 2, 7, 9), 2, None, 0),  # the last row and column belong to no window
    ((2, 2, 7, 9), 3, 2, 1),
    ((1, 3, 6, 5), (2, 3), (1, 2), (1, 0)),
    ((2, 1, 5, 5), 3, 1, 0),
]


@pytest.mark.parametrize("shape, kernel, stride, padding", POOLS)
@pytest.mark.parametrize("training", [True, False])  # eval: no winners kept until backward
def test_max_pool_matches_the_window_by_window_reference(rng, shape, kernel, stride, padding,
                                                         training):
    x = rng.standard_normal(shape)
    x[0, 0, :2, :2] = 1.5  # a tie: the first tap in row-major order wins
    layer = MaxPool2d(kernel, stride=stride, padding=padding).train(training)
    y = layer.forward(x)
    delta = rng.standard_normal(y.shape)
    y_plain = max_pool2d(x, layer.kernel, layer.stride, layer.padding)
    dx_plain = max_pool2d_backward(delta, x, layer.kernel, layer.stride, layer.padding)
    np.testing.assert_array_equal(y, y_plain)
    np.testing.assert_allclose(layer.backward(delta), dx_plain, **TIGHT)


# Input channels x taps of 9 and 18 take Conv2d's per-image weight gradient (<= 32
# rows), 3 x 25 = 75 and 16 x 9 = 144 the one long product.
CONVS = [
    ((3, 1, 9, 9), 4, 3, 1, 1),
    ((2, 2, 7, 9), 3, 3, 2, 1),
    ((2, 3, 8, 7), 4, 5, 1, 2),
    ((2, 16, 5, 5), 6, 3, 1, 0),
]


@pytest.mark.parametrize("shape, out_channels, kernel, stride, padding", CONVS)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_matches_the_index_form(rng, shape, out_channels, kernel, stride, padding, bias):
    layer = Conv2d(shape[1], out_channels, kernel, stride=stride, padding=padding, bias=bias,
                   rng=rng, dtype=np.float64)
    if bias:
        layer.bias.data[...] = rng.standard_normal(out_channels)
    x = rng.standard_normal(shape)
    y = layer.forward(x)
    delta = rng.standard_normal(y.shape)
    dx = layer.backward(delta)
    y_plain = conv2d(x, layer.weight.data, layer.bias.data if bias else None, layer.stride,
                     layer.padding)
    dx_plain, dw_plain, db_plain = conv2d_backward(delta, x, layer.weight.data, layer.stride,
                                                   layer.padding)
    np.testing.assert_allclose(y, y_plain, **TIGHT)
    np.testing.assert_allclose(dx, dx_plain, **TIGHT)
    np.testing.assert_allclose(layer.weight.grad, dw_plain, **TIGHT)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, db_plain, **TIGHT)


def _channels_last(x: np.ndarray) -> np.ndarray:
    """The same (N, C, H, W) values as a view of (N, H, W, C) memory, as infer returns."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("shape, out_channels, kernel, stride, padding",
                         CONVS + [((2, 4, 6, 6), 3, (2, 3), (2, 1), (0, 1)),
                                  ((0, 4, 6, 6), 3, 3, 1, 1)])  # an empty batch
@pytest.mark.parametrize("layout", ["channel-major", "channels-last"])
def test_conv_infer_equals_its_forward(rng, shape, out_channels, kernel, stride, padding,
                                       layout):
    layer = Conv2d(shape[1], out_channels, kernel, stride=stride, padding=padding,
                   rng=rng, dtype=np.float64).eval()
    layer.bias.data[...] = rng.standard_normal(out_channels)
    x = rng.standard_normal(shape)
    if layout == "channels-last":
        x = _channels_last(x)
    y = layer.infer(x)
    np.testing.assert_allclose(y, layer.forward(x), **TIGHT)
    assert y.shape[0] == 0 or y.shape[1] == 1 or y.strides[1] == y.itemsize  # channels last
    y_plain = conv2d(x, layer.weight.data, layer.bias.data, layer.stride, layer.padding)
    np.testing.assert_allclose(y, y_plain, **TIGHT)


@pytest.mark.parametrize("shape, kernel, stride, padding", POOLS)
@pytest.mark.parametrize("layout", ["channel-major", "channels-last"])
def test_max_pool_infer_equals_its_forward(rng, shape, kernel, stride, padding, layout):
    x = rng.standard_normal(shape)
    x[0, 0, :2, :2] = 1.5  # a tie
    x[-1, -1, 0, 0] = np.nan  # propagates as in forward
    if layout == "channels-last":
        x = _channels_last(x)
    layer = MaxPool2d(kernel, stride=stride, padding=padding).eval()
    y = layer.infer(x)
    np.testing.assert_array_equal(y, layer.forward(x))
    np.testing.assert_array_equal(y, max_pool2d(x, layer.kernel, layer.stride, layer.padding))
    if layout == "channels-last" and layer.kernel == layer.stride == (2, 2) and shape[1] > 1:
        assert y.strides[1] == y.itemsize  # stays channels last for the next layer


def test_relu_infer_equals_its_forward(rng):
    from barenet.nn.layers import ReLU

    x = _channels_last(rng.standard_normal((3, 4, 5, 6)))
    x[0, 0, 0, :3] = [0.0, -0.0, np.nan]
    y = ReLU().infer(x)
    np.testing.assert_array_equal(y, ReLU().forward(x))
    assert y.strides == x.strides


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (16, 5)), (BatchNorm2d, (4, 3, 5, 6)),
                                        (BatchNorm1d, (1, 3))])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_the_textbook_formulas(rng, cls, shape, training):
    layer = cls(shape[1], dtype=np.float64)
    layer.gamma.data[...] = rng.uniform(0.5, 2, shape[1])
    layer.beta.data[...] = rng.standard_normal(shape[1])
    layer.buffers["running_mean"][...] = rng.standard_normal(shape[1])
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2, shape[1])
    stats = {} if training else {"mean": layer.buffers["running_mean"].copy(),
                                 "var": layer.buffers["running_var"].copy()}
    layer.train(training)
    x = 3 * rng.standard_normal(shape) + 1
    delta = rng.standard_normal(shape)
    y = layer.forward(x)
    dx = layer.backward(delta)
    y_plain, x_hat, r = batch_norm(x, layer.gamma.data, layer.beta.data, layer.eps, **stats)[:3]
    dx_plain, dgamma, dbeta = batch_norm_backward(delta, x_hat, r, layer.gamma.data, training)
    np.testing.assert_allclose(y, y_plain, **TIGHT)
    np.testing.assert_allclose(dx, dx_plain, **TIGHT)
    np.testing.assert_allclose(layer.gamma.grad, dgamma, **TIGHT)
    np.testing.assert_allclose(layer.beta.grad, dbeta, **TIGHT)


@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_predicting_with_batch_norm_folded_equals_the_eval_forward(rng, dtype, tolerance):
    from barenet import Sequential
    from barenet.nn.layers import Flatten, Linear, ReLU
    from barenet.nn.layers.batchnorm import _BatchNorm

    model = Sequential([
        Conv2d(1, 4, 3, padding=1, rng=rng), BatchNorm2d(4), MaxPool2d(2), ReLU(),
        Conv2d(4, 5, 3, bias=False, rng=rng), BatchNorm2d(5),
        MaxPool2d(2), BatchNorm2d(5),  # after pooling: folded through it (positive gamma)
        Flatten(), Linear(5 * 2 * 2, 6, rng=rng), BatchNorm1d(6), ReLU(), Linear(6, 3, rng=rng),
    ], input_shape=(1, 12, 12)).astype(dtype)
    for layer in model.layers:
        if isinstance(layer, _BatchNorm):
            c = layer.num_features
            layer.gamma.data[...] = rng.uniform(0.5, 2, c)
            layer.beta.data[...] = rng.standard_normal(c)
            layer.buffers["running_mean"][...] = rng.standard_normal(c)
            layer.buffers["running_var"][...] = rng.uniform(0.5, 2, c)
    x = rng.random((7, 1, 12, 12)).astype(dtype)
    with model.evaluating():
        plain = model.forward(x)
        kinds = [type(layer).__name__ for layer in model.inference_layers()]
    assert kinds == ["Conv2d", "MaxPool2d", "ReLU", "Conv2d", "MaxPool2d", "Flatten", "Linear",
                     "ReLU", "Linear"]
    before = [a.copy() for a in model.state().values()]
    np.testing.assert_allclose(model.predict_logits(x), plain, rtol=tolerance, atol=tolerance)
    for a, b in zip(before, model.state().values(), strict=True):
        np.testing.assert_array_equal(a, b)  # folding changes nothing in the model
    # one negative scale: max does not commute with it, so that batch norm stays
    model.layers[7].gamma.data[2] = -0.7
    with model.evaluating():
        plain = model.forward(x)
        assert [type(m).__name__ for m in model.inference_layers()].count("BatchNorm2d") == 1
    np.testing.assert_allclose(model.predict_logits(x), plain, rtol=tolerance, atol=tolerance)
    model.train()
    assert [type(m).__name__ for m in model.inference_layers()].count("BatchNorm2d") == 3


def test_prediction_on_several_threads_gives_the_same_numbers(rng):
    from barenet import Sequential
    from barenet.nn.layers import Flatten, Linear, ReLU

    # a convolution with no batch norm after it keeps its own im2col buffer per thread
    model = Sequential([Conv2d(1, 6, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
                        Conv2d(6, 4, 3, rng=rng), BatchNorm2d(4), Flatten(),
                        Linear(4 * 12 * 12, 10, rng=rng)], input_shape=(1, 28, 28))
    images = rng.integers(0, 256, (203, 28, 28), dtype=np.uint8)  # 7 batches, the last short
    one = model.predict_logits(images, batch_size=32, threads=1)
    for threads in (2, 3, 8):
        np.testing.assert_array_equal(model.predict_logits(images, batch_size=32,
                                                           threads=threads), one)
    with model.evaluating():
        plain = model.forward(model.prepare_input(images))
    np.testing.assert_allclose(one, plain, rtol=2e-5, atol=2e-5)
    assert model.predict_logits(images[:0], threads=4).shape == (0, 10)


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
