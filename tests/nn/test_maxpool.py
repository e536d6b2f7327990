"""PyTorch parity of the convolution and pooling layers (and BatchNorm2d after a convolution):
outputs, input gradients, parameter gradients and running statistics agree to 1e-10 in
float64, on odd image sizes and with strides > 1."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.layers import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    GlobalAvgPool2d,
    Linear,
    MaxPool2d,
    ReLU,
)

from .torch_parity import close, torch  # skips this file without PyTorch

F = torch.nn.functional


def both_passes(layer, reference, x, upstream):
    """(output, input gradient) of the barenet layer and of the torch callable."""
    y = layer.forward(x.copy())
    dx = layer.backward(upstream.copy())
    xt = torch.tensor(x, requires_grad=True)
    yt = reference(xt)
    yt.backward(torch.tensor(upstream))
    close(y, yt, "output")
    close(dx, xt.grad, "input gradient")


def torch_conv(layer: Conv2d) -> "torch.nn.Conv2d":
    ref = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel,
                          stride=layer.stride, padding=layer.padding,
                          bias=layer.bias is not None,
                          dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(layer.weight.data))
        if layer.bias is not None:
            ref.bias.copy_(torch.tensor(layer.bias.data))
    return ref


@pytest.mark.parametrize("kernel, stride, padding, size", [
    (3, 1, 1, (7, 9)), (3, 2, 0, (7, 9)), (3, 2, 1, (9, 7)), (5, 1, 2, (7, 9)), (5, 3, 1, (11, 8)),
    ((3, 5), (2, 1), (1, 2), (7, 9)), (1, 2, 0, (5, 6)),
])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(rng, kernel, stride, padding, size, bias):
    layer = Conv2d(3, 5, kernel, stride=stride, padding=padding, bias=bias, rng=rng,
                   dtype=np.float64)
    if bias:
        layer.params["bias"].data[...] = rng.standard_normal(5)
    ref = torch_conv(layer)
    x = rng.standard_normal((4, 3, *size))
    g = rng.standard_normal((4, *layer.output_shape((3, *size))))
    both_passes(layer, ref, x, g)
    close(layer.params["weight"].grad, ref.weight.grad, "weight gradient")
    if bias:
        close(layer.params["bias"].grad, ref.bias.grad, "bias gradient")


@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, None, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), ((2, 3), (1, 2), (1, 1)),
])
def test_max_pool(rng, kernel, stride, padding):
    layer = MaxPool2d(kernel, stride=stride, padding=padding)
    ref = torch.nn.MaxPool2d(kernel, stride=stride, padding=padding)
    x = rng.standard_normal((3, 4, 7, 9))
    g = rng.standard_normal((3, *layer.output_shape((4, 7, 9))))
    both_passes(layer, ref, x, g)


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0)])
def test_max_pool_ties_like_torch(rng, kernel, stride, padding):
    layer = MaxPool2d(kernel, stride=stride, padding=padding)
    ref = torch.nn.MaxPool2d(kernel, stride=stride, padding=padding)
    x = rng.integers(0, 2, (3, 4, 7, 9)).astype(np.float64)  # many tied maxima
    g = rng.standard_normal((3, *layer.output_shape((4, 7, 9))))
    both_passes(layer, ref, x, g)


@pytest.mark.parametrize("kernel, stride, padding", [
    (2, None, 0), (3, None, 0), (3, 2, 1), (3, 1, 1), (5, 2, 2), ((2, 3), (1, 2), (1, 1)),
])
def test_avg_pool(rng, kernel, stride, padding):
    layer = AvgPool2d(kernel, stride=stride, padding=padding)
    ref = torch.nn.AvgPool2d(kernel, stride=stride, padding=padding)  # count_include_pad=True
    x = rng.standard_normal((3, 4, 7, 9))
    g = rng.standard_normal((3, *layer.output_shape((4, 7, 9))))
    both_passes(layer, ref, x, g)


def test_global_avg_pool(rng):
    x, g = rng.standard_normal((3, 4, 7, 9)), rng.standard_normal((3, 4))
    both_passes(GlobalAvgPool2d(), lambda t: F.adaptive_avg_pool2d(t, 1).flatten(1), x, g)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_on_a_convolution_output(rng, training):
    """BatchNorm2d receives Conv2d's output, a transposed (channel-major) view."""
    conv = Conv2d(2, 3, 3, stride=2, padding=1, rng=rng, dtype=np.float64)
    norm = BatchNorm2d(3, dtype=np.float64)
    norm.params["gamma"].data[...] = rng.uniform(0.5, 2, 3)
    norm.params["beta"].data[...] = rng.standard_normal(3)
    norm.buffers["running_var"][...] = rng.uniform(0.5, 2, 3)
    ref = torch.nn.Sequential(torch_conv(conv), torch.nn.BatchNorm2d(3, dtype=torch.float64))
    with torch.no_grad():
        ref[1].weight.copy_(torch.tensor(norm.params["gamma"].data))
        ref[1].bias.copy_(torch.tensor(norm.params["beta"].data))
        ref[1].running_var.copy_(torch.tensor(norm.buffers["running_var"]))
    model = bn.Sequential([conv, norm]).train(training)
    ref.train(training)
    x = 3 * rng.standard_normal((5, 2, 7, 9)) + 1
    both_passes(model, ref, x, rng.standard_normal((5, 3, 4, 5)))
    close(norm.params["gamma"].grad, ref[1].weight.grad, "gamma gradient")
    close(norm.params["beta"].grad, ref[1].bias.grad, "beta gradient")
    close(norm.buffers["running_mean"], ref[1].running_mean, "running mean")
    close(norm.buffers["running_var"], ref[1].running_var, "running variance")
    close(conv.params["weight"].grad, ref[0].weight.grad, "conv weight gradient")


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


def test_float32_forward_close_to_torch(rng):
    layer = Conv2d(3, 8, 3, padding=1, rng=rng)
    x = rng.standard_normal((4, 3, 9, 7)).astype(np.float32)
    with torch.no_grad():
        y_ref = torch_conv(layer).float()(torch.tensor(x))
    np.testing.assert_allclose(layer.forward(x), y_ref.numpy(), rtol=1e-4, atol=1e-5)

