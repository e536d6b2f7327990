"""Parameter, Module and Sequential: the chain's gradient check (nested, and a whole CNN),
a small CNN's every gradient against PyTorch, and the behaviour of the chain: summary,
train/eval propagation, determinism from a seed, dtype casting, parameters as attributes."""

import re

import numpy as np
import pytest

import barenet as bn
from barenet.nn.gradcheck import away_from_kinks, model_example
from barenet.nn.layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Flatten,
    GlobalAvgPool2d,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from barenet.nn.losses import SoftmaxCrossEntropy
from barenet.nn.optim import Adam

from .checks import assert_gradcheck
from .torch_parity import both_passes, close, needs_torch, torch, torch_conv


def mlp(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return bn.Sequential([Linear(784, 128, rng=rng), BatchNorm1d(128), ReLU(),
                          Dropout(0.3, rng=rng), Linear(128, 64, rng=rng), ReLU(),
                          Linear(64, 10, rng=rng)]).astype(dtype)


# --- the gradient check of the chain --------------------------------------------------------


def test_whole_sequential(rng):
    example = model_example(rng)
    result = assert_gradcheck(example.target, example.x, max_entries=None)
    n_params = len(example.target.parameters())
    assert len(result.errors) == n_params + 1  # every parameter of every layer, plus input


def test_nested_sequential_parameters_are_checked(rng):
    inner = bn.Sequential([Linear(4, 3, rng=rng), Tanh()])
    model = bn.Sequential([inner, Linear(3, 2, rng=rng)]).astype(np.float64)
    result = assert_gradcheck(model, rng.standard_normal((5, 4)))
    assert set(result.errors) == {"input", "0.0.weight", "0.0.bias", "1.weight", "1.bias"}


def small_cnn(rng, dtype=np.float64) -> bn.Sequential:
    return bn.Sequential([
        Conv2d(1, 4, 3, padding=1, rng=rng), BatchNorm2d(4), ReLU(), MaxPool2d(2),
        Conv2d(4, 6, 3, stride=2, padding=1, rng=rng), BatchNorm2d(6), ReLU(),
        Dropout(0.25, rng=rng.integers(2**32)), AvgPool2d(2, stride=1), GlobalAvgPool2d(),
        Linear(6, 3, rng=rng),
    ], input_shape=(1, 12, 11)).astype(dtype)


def test_whole_cnn(rng):
    model = small_cnn(rng)
    assert_gradcheck(model, away_from_kinks(rng.standard_normal((4, 1, 12, 11))), max_entries=60)


# --- PyTorch parity of the chain ------------------------------------------------------------


@needs_torch
def test_small_cnn_every_gradient(rng):
    layers = [Conv2d(1, 4, 3, padding=1, rng=rng), BatchNorm2d(4), ReLU(), MaxPool2d(2),
              Conv2d(4, 8, 3, stride=2, padding=1, rng=rng), BatchNorm2d(8), ReLU(),
              AvgPool2d(3, stride=1, padding=1), Flatten(), Linear(8 * 4 * 3, 5, rng=rng)]
    model = bn.Sequential(layers, input_shape=(1, 15, 11)).astype(np.float64)
    ref = torch.nn.Sequential(
        torch_conv(layers[0]), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch_conv(layers[4]), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.AvgPool2d(3, stride=1, padding=1), torch.nn.Flatten(),
        torch.nn.Linear(8 * 4 * 3, 5)).double()
    with torch.no_grad():
        ref[9].weight.copy_(torch.tensor(layers[9].params["weight"].data.T))
        ref[9].bias.zero_()
    x = rng.standard_normal((6, 1, 15, 11))
    both_passes(model, ref, x, rng.standard_normal((6, 5)))
    for i in (0, 4):
        close(layers[i].params["weight"].grad, ref[i].weight.grad, f"conv {i} weight")
        close(layers[i].params["bias"].grad, ref[i].bias.grad, f"conv {i} bias")
    for i in (1, 5):
        close(layers[i].params["gamma"].grad, ref[i].weight.grad, f"batch-norm {i} gamma")
    close(layers[9].params["weight"].grad, ref[9].weight.grad.T, "linear weight")


# --- the chain's behaviour ------------------------------------------------------------------

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
    return model.state_dict()


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
    assert all(a.dtype == np.float32 for a in model.state_dict().values())


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


def test_float32_training_stays_float32(rng):
    model = mlp()
    opt = Adam(model.parameters())
    loss_fn = SoftmaxCrossEntropy()
    x = rng.standard_normal((8, 784)).astype(np.float32)
    assert model.forward(x).dtype == np.float32
    loss_fn.forward(model.forward(x), rng.integers(0, 10, 8))
    assert model.backward(loss_fn.backward()).dtype == np.float32
    opt.step()
    assert all(a.dtype == np.float32 for a in model.state_dict().values())


def test_parameters_are_attributes_as_in_pytorch():
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


def test_state_dict_round_trips_in_place_as_the_optimizers_do():
    from barenet.nn import Sequential
    from barenet.nn.layers import BatchNorm1d, Linear

    source = Sequential([Linear(4, 3, rng=0), BatchNorm1d(3)])
    target = Sequential([Linear(4, 3, rng=1), BatchNorm1d(3)])
    source.layers[1].buffers["running_mean"][...] = 0.5
    weight = target.layers[0].weight.data
    target.load_state_dict(source.state_dict())
    assert target.layers[0].weight.data is weight  # overwritten in place, not replaced
    for name, array in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], array, err_msg=name)
    assert list(source.state_dict()) == ["0.weight", "0.bias", "1.gamma", "1.beta",
                                         "1.running_mean", "1.running_var"]
