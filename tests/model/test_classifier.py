"""Sequential and Module behaviour: summary, train/eval propagation, dropout in eval,
determinism from a seed, dtype casting, and clear errors for misuse."""

import re

import numpy as np
import pytest

import barenet as bn
from barenet.errors import BarenetError
from barenet.nn.layers import (
    BatchNorm1d,
    Dropout,
    Flatten,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
)
from barenet.nn.losses import BCEWithLogits, MSELoss, SoftmaxCrossEntropy
from barenet.nn.optim import SGD, Adam


def mlp(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return bn.Sequential([Linear(784, 128, rng=rng), BatchNorm1d(128), ReLU(),
                          Dropout(0.3, rng=rng), Linear(128, 64, rng=rng), ReLU(),
                          Linear(64, 10, rng=rng)]).astype(dtype)


def test_summary_lists_layers_shapes_and_parameter_counts():
    model = mlp()
    text = model.summary()
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "output", "shape", "parameters"]
    body = [line for line in lines[2:-2]]
    assert len(body) == len(model.layers)
    expected = [("Linear(in_features=784, out_features=128", "(128,)", 784 * 128 + 128),
                ("BatchNorm1d(num_features=128", "(128,)", 2 * 128),
                ("ReLU()", "(128,)", 0), ("Dropout(p=0.3)", "(128,)", 0),
                ("Linear(in_features=128, out_features=64", "(64,)", 128 * 64 + 64),
                ("ReLU()", "(64,)", 0),
                ("Linear(in_features=64, out_features=10", "(10,)", 64 * 10 + 10)]
    for line, (start, shape, count) in zip(body, expected, strict=True):
        assert line.startswith(start), line
        assert shape in line
        assert line.split()[-1] == f"{count:,}"
    total = sum(count for *_, count in expected)
    assert lines[-1].split() == ["total", f"{total:,}"]
    assert total == sum(p.data.size for p in model.parameters())
    assert set(lines[1]) == {"-"} and set(lines[-2]) == {"-"}


def test_summary_with_image_input_and_unknown_shape():
    model = bn.Sequential([Flatten(), Linear(12, 3)], input_shape=(3, 2, 2))
    text = model.summary()
    assert "(12,)" in text and "(3,)" in text
    unknown = bn.Sequential([ReLU(), Linear(4, 2)])  # no input shape: first layer not Linear
    assert unknown.input_shape is None
    assert re.search(r"ReLU\(\)\s+\?", unknown.summary())


def test_input_shape_inferred_from_first_linear():
    assert mlp().input_shape == (784,)
    assert bn.Sequential([Linear(5, 2)], input_shape=[7]).input_shape == (7,)


def test_train_eval_propagate_to_every_layer():
    model = mlp()
    assert model.training and all(layer.training for layer in model.layers)
    assert model.eval() is model
    assert not model.training and not any(layer.training for layer in model.layers)
    model.train()
    assert model.training and all(layer.training for layer in model.layers)
    inner = bn.Sequential([Dropout(0.5), ReLU()])
    outer = bn.Sequential([Linear(3, 3), inner])
    outer.eval()
    assert not inner.training and not inner.layers[0].training


def test_dropout_is_identity_in_eval_and_random_in_train(rng):
    layer = Dropout(0.5, rng=0)
    x = rng.standard_normal((50, 40))
    layer.eval()
    assert layer.forward(x) is x
    g = rng.standard_normal(x.shape)
    assert layer.backward(g) is g
    layer.train()
    first, second = layer.forward(x), layer.forward(x)
    assert not np.array_equal(first, second)  # a fresh mask every batch
    assert set(np.unique(np.round(first / x, 12))) == {0.0, 2.0}
    assert Dropout(0.0).forward(x) is x
    with pytest.raises(bn.BarenetError, match=r"\[0, 1\)"):
        Dropout(1.0)


def test_model_in_eval_is_deterministic_and_batchnorm_uses_running_stats(rng):
    model = mlp()
    x = rng.standard_normal((16, 784)).astype(np.float32)
    model.forward(x)  # one training batch moves the running statistics
    model.eval()
    single = model.forward(x[:1])
    batch = model.forward(x)
    np.testing.assert_allclose(single, batch[:1], rtol=1e-5, atol=1e-6)
    assert np.array_equal(model.forward(x), batch)


def train_once(seed, steps=15):
    model = mlp(seed)
    rng = np.random.default_rng(seed + 100)
    loss_fn, opt = SoftmaxCrossEntropy(), Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        x = rng.standard_normal((32, 784)).astype(np.float32)
        loss_fn.forward(model.forward(x), rng.integers(0, 10, 32))
        model.backward(loss_fn.backward())
        opt.step()
    return model.state()


def test_same_seed_gives_bit_identical_weights():
    first, second = train_once(3), train_once(3)
    assert list(first) == list(second)
    for name in first:
        assert first[name].tobytes() == second[name].tobytes(), name
    other = train_once(4)
    assert not np.array_equal(first["0.weight"], other["0.weight"])


def test_astype_casts_parameters_gradients_and_buffers():
    model = mlp(dtype=np.float64)
    assert model.dtype == np.float64
    for p in model.parameters():
        assert p.data.dtype == p.grad.dtype == np.float64
    assert model.layers[1].buffers["running_var"].dtype == np.float64
    model.astype(np.float32)
    assert all(a.dtype == np.float32 for a in model.state().values())


def test_zero_grad_and_parameters_order(rng):
    model = mlp()
    x = rng.standard_normal((4, 784)).astype(np.float32)
    model.backward(np.ones_like(model.forward(x)))
    assert any(np.any(p.grad) for p in model.parameters())
    model.zero_grad()
    assert not any(np.any(p.grad) for p in model.parameters())
    names = [p.name for p in model.parameters()]
    assert names == ["weight", "bias", "gamma", "beta", "weight", "bias", "weight", "bias"]


def test_backward_returns_input_gradient_of_right_shape(rng):
    model = bn.Sequential([Flatten(), Linear(12, 5, rng=rng), Tanh(), Linear(5, 2, rng=rng),
                           Sigmoid(), LeakyReLU()], input_shape=(3, 2, 2))
    x = rng.standard_normal((6, 3, 2, 2)).astype(np.float32)
    y = model.forward(x)
    assert y.shape == (6, 2) == (6,) + model.output_shape((3, 2, 2))
    assert model.backward(np.ones_like(y)).shape == x.shape


def test_backward_without_input_grad_gives_the_same_parameter_gradients(rng):
    model = bn.Sequential([Flatten(), Linear(12, 5, rng=rng), ReLU(), Linear(5, 2, rng=rng)],
                          input_shape=(3, 2, 2)).astype(np.float64)
    x = rng.standard_normal((6, 3, 2, 2))
    g = rng.standard_normal((6, 2))
    model.forward(x)
    dx = model.backward(g)
    full = [p.grad.copy() for p in model.parameters()]
    model.layers[0].backward = None  # a layer before the first with parameters is not visited
    assert model.backward(g, input_grad=False) is None
    for p, expected in zip(model.parameters(), full, strict=True):
        np.testing.assert_array_equal(p.grad, expected)
    del model.layers[0].backward
    assert model.layers[1].needs_input_grad  # a layer used on its own afterwards works fully
    np.testing.assert_array_equal(model.backward(g), dx)  # the default contract is back


def test_linear_rejects_wrong_input_shape(rng):
    layer = Linear(784, 10, rng=rng)
    with pytest.raises(bn.BarenetError, match=r"\(N, 784\).*Flatten"):
        layer.forward(np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(bn.BarenetError, match="784"):
        layer.forward(np.zeros((2, 783), np.float32))


def test_unknown_initialiser_is_a_clear_error():
    with pytest.raises(bn.BarenetError, match="unknown initialiser 'magic'.*he"):
        Linear(3, 2, init="magic")


def test_initialisers_have_the_documented_spread():
    n_in, n_out = 400, 300
    for init, std in [("he", np.sqrt(2 / n_in)), ("lecun", np.sqrt(1 / n_in)),
                      ("xavier", np.sqrt(6 / (n_in + n_out)) / np.sqrt(3))]:
        w = Linear(n_in, n_out, init=init, rng=0).params["weight"].data
        assert w.shape == (n_in, n_out)
        assert abs(w.std() / std - 1) < 0.02, init
    w = Linear(n_in, n_out, init="xavier", rng=0).params["weight"].data
    assert np.abs(w).max() <= np.sqrt(6 / (n_in + n_out))
    assert not Linear(3, 2).params["bias"].data.any()


def test_loss_target_errors_are_clear(rng):
    z = rng.standard_normal((4, 3))
    ce = SoftmaxCrossEntropy()
    with pytest.raises(bn.BarenetError, match="4 outputs but 1 targets"):
        ce.forward(z, np.array([1]))
    with pytest.raises(bn.BarenetError, match=r"\[0, 3\)"):
        ce.forward(z, np.array([0, 1, 2, 3]))
    with pytest.raises(bn.BarenetError, match="integer class labels"):
        ce.forward(z, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(bn.BarenetError, match=r"\(N, 3\)"):
        ce.forward(z, np.eye(4))
    with pytest.raises(bn.BarenetError, match=r"\(N, K\)"):
        ce.forward(z.reshape(2, 2, 3), np.array([0, 1]))
    with pytest.raises(bn.BarenetError, match="label_smoothing"):
        SoftmaxCrossEntropy(1.0)
    for loss in (MSELoss(), BCEWithLogits()):
        with pytest.raises(bn.BarenetError, match="targets of shape"):
            loss.forward(z, np.zeros((4, 2)))


def test_batchnorm_rejects_wrong_shape():
    with pytest.raises(bn.BarenetError, match=r"BatchNorm1d\(4\)"):
        BatchNorm1d(4).forward(np.zeros((3, 5), np.float32))


def test_optimizer_errors_are_clear():
    with pytest.raises(bn.BarenetError, match="no parameters"):
        SGD([], lr=0.1)
    with pytest.raises(bn.BarenetError, match="learning rate"):
        SGD(mlp().parameters(), lr=0)
    with pytest.raises(bn.BarenetError, match="unknown optimizer 'sgdd'"):
        bn.optim.OPTIMIZERS["sgdd"]


def test_float32_training_stays_float32(rng):
    model = mlp()
    opt = Adam(model.parameters())
    loss_fn = SoftmaxCrossEntropy()
    x = rng.standard_normal((8, 784)).astype(np.float32)
    assert model.forward(x).dtype == np.float32
    loss_fn.forward(model.forward(x), rng.integers(0, 10, 8))
    assert model.backward(loss_fn.backward()).dtype == np.float32
    opt.step()
    assert all(a.dtype == np.float32 for a in model.state().values())


def test_flush_subnormals_zeroes_only_tiny_float32_values():
    from barenet.nn.optim import flush_subnormals

    tiny32 = np.array([1e-38, -1e-35, 1e-31, 1e-29, 0.5], np.float32)
    tiny64 = np.array([1e-38, 1e-300, 0.5])
    flush_subnormals([tiny32, tiny64])
    assert np.array_equal(tiny32, np.array([0, 0, 0, 1e-29, 0.5], np.float32))
    assert np.array_equal(tiny64, [1e-38, 1e-300, 0.5])  # float64 left alone


@pytest.mark.parametrize("options", [dict(num_features=0), dict(num_features=3, eps=-1e-5),
                                     dict(num_features=3, momentum=1.5),
                                     dict(num_features=3, eps=float("nan"))])
def test_batchnorm_rejects_meaningless_options(options):
    with pytest.raises(bn.BarenetError, match="BatchNorm1d: (num_features|eps|momentum) must be"):
        BatchNorm1d(**options)


def test_batchnorm_single_sample_batch_leaves_running_stats(rng):
    """A last training batch of one sample has no variance: the running estimates
    must not be pulled toward 0 by it (PyTorch raises here instead)."""
    layer = BatchNorm1d(3, dtype=np.float64)
    layer.forward(rng.standard_normal((20, 3)) * 4 + 1)
    mean, var = layer.buffers["running_mean"].copy(), layer.buffers["running_var"].copy()
    y = layer.forward(rng.standard_normal((1, 3)))
    assert np.array_equal(layer.buffers["running_mean"], mean)
    assert np.array_equal(layer.buffers["running_var"], var)
    assert np.array_equal(y, np.broadcast_to(layer.params["beta"].data, (1, 3)))
    assert not np.any(layer.backward(np.ones((1, 3))))


def test_parameters_are_attributes_as_in_pytorch():
    from barenet.nn.layers import BatchNorm1d, Conv2d

    linear = Linear(3, 2, rng=0)
    assert linear.weight is linear.params["weight"] and linear.bias is linear.params["bias"]
    assert linear.weight.data.shape == (3, 2) and linear.bias.data.shape == (2,)
    no_bias = Conv2d(1, 4, 3, bias=False, rng=0)
    assert no_bias.bias is None and no_bias.config()["bias"] is False
    assert no_bias.weight.data.shape == (4, 1, 3, 3)
    norm = BatchNorm1d(5)
    assert norm.gamma is norm.params["gamma"]
    with pytest.raises(AttributeError, match="no attribute 'wieght'"):
        linear.wieght  # noqa: B018
    with pytest.raises(AttributeError):
        ReLU().gamma  # noqa: B018
    assert ReLU().weight is None


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.9)])
def test_adam_refuses_betas_outside_zero_one(betas):
    from barenet.nn.module import Parameter
    from barenet.nn.optim import Adam

    with pytest.raises(bn.BarenetError, match=r"betas must be a list of two numbers in \[0, 1\)"):
        Adam([Parameter(np.zeros(2))], betas=betas)


def test_predict_with_mirror_averages_each_image_with_its_mirror_image(rng):
    model = bn.Sequential([Linear(784, 10, rng=rng)])  # raw images are mirrored, not rows
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    plain, mirrored = model.predict_logits(images), model.predict_logits(images[:, :, ::-1])
    np.testing.assert_allclose(model.predict_logits(images, mirror=True),
                               (plain + mirrored) / 2, rtol=1e-6, atol=1e-6)
    symmetric = np.concatenate([images[:, :, :14], images[:, :, 13::-1]], axis=2)
    np.testing.assert_allclose(model.predict_logits(symmetric, mirror=True),
                               model.predict_logits(symmetric), rtol=1e-6, atol=1e-6)
    with pytest.raises(BarenetError, match=r"mirroring expects images of shape \(N, H, W\)"):
        model.predict_logits(images.reshape(5, 784), mirror=True)


def test_predict_with_shift_averages_each_image_with_its_four_one_pixel_shifts(rng):
    model = bn.Sequential([Linear(784, 10, rng=rng)])
    images = np.zeros((5, 28, 28), np.uint8)  # a blank edge, as MNIST's: rolling it in
    images[:, 4:24, 4:24] = rng.integers(0, 256, (5, 20, 20))  # is what the shift does
    shifted = [np.roll(images, step, axis=axis) for step in (-1, 1) for axis in (1, 2)]
    views = [images, *shifted]
    expected = sum(model.predict_logits(v) for v in views) / 5
    np.testing.assert_allclose(model.predict_logits(images, shift=True), expected,
                               rtol=1e-5, atol=1e-5)
    both = sum(model.predict_logits(v) + model.predict_logits(v[:, :, ::-1]) for v in views) / 10
    np.testing.assert_allclose(model.predict_logits(images, shift=True, mirror=True), both,
                               rtol=1e-5, atol=1e-5)
