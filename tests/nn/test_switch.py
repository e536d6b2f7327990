"""The switch ``bn.nn.plain()``: every layer's textbook path against its fast one.

For every registered layer, on its own gradient-check inputs, in float64: forward,
backward (the input gradient and every parameter gradient) and infer agree to rounding
in training and in eval mode, and the textbook path passes the gradient check. A small
CNN trains one step to the same weights both ways, and the switch comes back after an
exception.
"""

import copy

import numpy as np
import pytest

import barenet as bn
from barenet.nn.gradcheck import gradcheck, layer_examples
from barenet.nn.layers import (
    LAYERS,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
)
from barenet.nn.losses import SoftmaxCrossEntropy
from barenet.nn.module import Sequential
from barenet.nn.optim import Adam

CLOSE = {"rtol": 1e-10, "atol": 1e-12}


def _examples():
    rng = np.random.default_rng(7)
    return [pytest.param(example.target, example.x, id=f"{name}-{example.label}")
            for name in LAYERS.names() for example in layer_examples(name, LAYERS[name], rng)]


def _run(layer, x, upstream, plain):
    """Forward, backward and infer on a copy of ``layer``: its outputs, gradients and
    buffers afterwards."""
    layer = copy.deepcopy(layer)  # the same random state (dropout) both ways
    with bn.nn.plain(plain):
        y = layer.forward(x.copy())
        dx = layer.backward(upstream.copy())
        grads = {name: p.grad.copy() for name, p in layer.params.items()}
        buffers = {name: b.copy() for name, b in layer.buffers.items()}
        inferred = layer.infer(x.copy()) if not layer.training else None
    return y, dx, grads, buffers, inferred


@pytest.mark.parametrize("layer, x", _examples())
@pytest.mark.parametrize("training", [True, False])
def test_every_layer_gives_the_same_numbers_plain_and_fast(layer, x, training):
    layer = copy.deepcopy(layer).train(training)
    shape = copy.deepcopy(layer).forward(x.copy()).shape
    upstream = np.cos(np.arange(np.prod(shape))).reshape(shape)
    fast = _run(layer, x, upstream, plain=False)
    plain = _run(layer, x, upstream, plain=True)
    for part in (0, 1, 4):  # y, dx, infer
        if fast[part] is None:
            assert plain[part] is None
            continue
        assert plain[part].shape == fast[part].shape
        np.testing.assert_allclose(plain[part], fast[part], **CLOSE)
    for part in (2, 3):  # parameter gradients, buffers (running statistics)
        assert plain[part].keys() == fast[part].keys()
        for name in fast[part]:
            np.testing.assert_allclose(plain[part][name], fast[part][name], **CLOSE,
                                       err_msg=name)
    assert not bn.nn.is_plain()


@pytest.mark.parametrize("layer, x", _examples())
def test_the_textbook_path_passes_the_gradient_check(layer, x):
    with bn.nn.plain():
        result = gradcheck(copy.deepcopy(layer), x)
    assert result.passed(), result.errors


def _cnn(rng):
    return Sequential([
        Conv2d(1, 4, 3, padding=1, rng=rng), BatchNorm2d(4), ReLU(), MaxPool2d(2),
        Conv2d(4, 6, 3, bias=False, rng=rng), MaxPool2d(3, stride=2, padding=1),
        BatchNorm2d(6), ReLU(), Flatten(), Dropout(0.2, rng=3), Linear(6 * 2 * 2, 5, rng=rng),
    ]).astype(np.float64)


@pytest.mark.parametrize("steps", [1, 3])
def test_a_cnn_trains_to_the_same_weights_plain_and_fast(rng, steps):
    model = _cnn(rng)
    x = rng.standard_normal((8, 1, 12, 12))
    labels = rng.integers(0, 5, 8)
    results = []
    for plain in (False, True):
        net = copy.deepcopy(model)
        optimizer, loss = Adam(net.parameters(), lr=0.01), SoftmaxCrossEntropy()
        with bn.nn.plain(plain):
            for _ in range(steps):
                loss.forward(net.forward(x), labels)
                net.backward(loss.backward(), input_grad=False)
                optimizer.step()
            with net.evaluating():
                logits = net.forward(x)
        results.append(([a.copy() for a in net.state_dict().values()], logits))
    (fast, fast_logits), (plain, plain_logits) = results
    # atol: the first convolution's bias sits before batch norm, so its gradient is zero
    # but for rounding, and Adam turns that noise into steps of about 1e-10 either way
    for a, b in zip(fast, plain, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(plain_logits, fast_logits, rtol=1e-9, atol=1e-9)


def test_prediction_runs_plain_too(rng):
    """infer in eval mode (channels last where fast) against the textbook path."""
    model = _cnn(rng)
    x = rng.standard_normal((5, 1, 12, 12))
    with model.evaluating():
        fast = x
        for layer in model.layers:
            fast = layer.infer(fast)
        with bn.nn.plain():
            plain = model.forward(x)
            inferred = x
            for layer in model.layers:
                inferred = layer.infer(inferred)
    np.testing.assert_allclose(plain, fast, **CLOSE)
    np.testing.assert_allclose(inferred, fast, **CLOSE)


def test_the_switch_comes_back_after_an_exception():
    assert not bn.nn.is_plain()
    with pytest.raises(RuntimeError), bn.nn.plain():
        assert bn.nn.is_plain()
        raise RuntimeError("inside")
    assert not bn.nn.is_plain()
    with bn.nn.plain():  # nested: the inner block's end restores the outer setting
        with bn.nn.plain(False):
            assert not bn.nn.is_plain()
        assert bn.nn.is_plain()
    assert not bn.nn.is_plain()
    assert bn.nn.set_plain(True) is False
    try:
        assert bn.nn.is_plain()
    finally:
        assert bn.nn.set_plain(False) is True


def test_the_textbook_path_steps_through_plain_functions(monkeypatch):
    """Under plain() a layer calls the function written before its class, and no kernel."""
    from barenet.nn.kernels import parallel
    from barenet.nn.layers import conv

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel ran under plain()")

    monkeypatch.setattr(parallel, "over_channels", refuse)
    monkeypatch.setattr(parallel, "matmul", refuse)
    calls = []
    original = conv.conv2d
    monkeypatch.setattr(conv, "conv2d", lambda *a, **k: calls.append(1) or original(*a, **k))
    model = _cnn(np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((2, 1, 12, 12))
    with bn.nn.plain():
        model.backward(model.forward(x))
        with model.evaluating():
            for layer in model.layers:
                x = layer.infer(x)
    assert len(calls) == 4  # two convolutions, forward then infer
