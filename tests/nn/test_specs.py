"""Each layer owns what it is: its spec (options, arrays, shape), its checks, its gradient
check example, its ONNX nodes; and the registry is filled by the classes themselves, so
that a layer defined anywhere (here, in a test) is one a config and a model file can name."""

import numpy as np
import pytest

import barenet as bn
from barenet.nn.gradcheck import layer_examples
from barenet.nn.layers import (
    LAYERS,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Linear,
    MaxPool2d,
)
from barenet.nn.module import Module, Parameter
from barenet.nn.optim import Adam, AdamW
from barenet.nn.options import Spec, check_options, layer_spec, number, size
from barenet.train import config as configs
from barenet.train.builder import build_model


def examples(name, rng):
    return layer_examples(name, LAYERS[name], rng)


@pytest.mark.parametrize("name", LAYERS.names())
def test_the_spec_shape_is_the_forward_output_shape(name, rng):
    """One definition of the output shape: the spec's, which Module.output_shape uses."""
    for case in examples(name, rng):
        layer, x = case.target, case.x
        spec = type(layer).spec
        assert spec is layer_spec(name)
        full = check_options(name, spec, layer.config())
        expected = spec.shape(full, x.shape[1:])
        assert layer.forward(x.copy()).shape[1:] == expected == layer.output_shape(x.shape[1:])
        assert spec.arrays(full) == [a.shape for a in layer.state_dict().values()]


def test_no_two_registered_layers_share_a_spec():
    specs = [LAYERS[name].spec for name in LAYERS.names()]
    assert len({id(spec) for spec in specs}) == len(specs)


def one_line_error(build, cls_name):
    with pytest.raises(bn.BarenetError) as info:
        build()
    message = str(info.value)
    assert message.startswith(f"{cls_name}: ") and "\n" not in message, message
    return message


@pytest.mark.parametrize("cls_name, build, words", [
    ("Linear", lambda: Linear(0, 3), "in_features must be an integer in [1, 65536], got 0"),
    ("Linear", lambda: Linear(4, 3, bias="yes"), "bias must be true or false"),
    ("Conv2d", lambda: Conv2d(1, 4, 3, padding=-1), "padding must be an integer in [0"),
    ("Conv2d", lambda: Conv2d(1, 1 << 17, 3), "out_channels must be an integer in [1, 65536]"),
    ("AvgPool2d", lambda: AvgPool2d(2, padding=2), "must be at most half the kernel size"),
    ("AvgPool2d", lambda: AvgPool2d(2, stride=0), "stride must be an integer in [1, 65536]"),
    ("BatchNorm2d", lambda: BatchNorm2d(4, momentum=2.0), "momentum must be a number in [0, 1]"),
    ("BatchNorm2d", lambda: BatchNorm2d(4, eps=0.0), "eps must be a number in (0, inf]"),
    ("AdamW", lambda: AdamW([Parameter(np.zeros(2))], eps=0.0), "eps must be a number in (0"),
    ("AdamW", lambda: AdamW([Parameter(np.zeros(2))], betas=(0.9, 1.0)), "betas must be"),
])
def test_a_bad_option_is_one_line_naming_the_class(cls_name, build, words):
    assert words in one_line_error(build, cls_name)


@pytest.mark.parametrize("cls, sibling, build", [
    (AvgPool2d, MaxPool2d, lambda cls: cls(2)),
    (MaxPool2d, AvgPool2d, lambda cls: cls(2)),
    (BatchNorm2d, BatchNorm1d, lambda cls: cls(3)),
    (BatchNorm1d, BatchNorm2d, lambda cls: cls(3)),
    (AdamW, Adam, lambda cls: cls([Parameter(np.zeros(2))])),
    (Linear, Conv2d, lambda cls: cls(2, 3, 1) if cls is Conv2d else cls(2, 3)),
    (Conv2d, Linear, lambda cls: cls(2, 3, 1) if cls is Conv2d else cls(2, 3)),
])
def test_each_class_is_checked_against_its_own_spec(monkeypatch, cls, sibling, build):
    """A spec refusing everything, given to ``cls`` alone, stops ``cls`` and not its sibling
    (AvgPool2d was checked against MaxPool2d's spec, BatchNorm2d against 1d's, AdamW
    against Adam's; Linear and Conv2d against none)."""
    own = cls.spec
    refusing = Spec(own.options, own.arrays, own.random, own.shape,
                    rule=lambda options: "refused by its own spec")
    monkeypatch.setattr(cls, "spec", refusing)
    assert "refused by its own spec" in one_line_error(lambda: build(cls), cls.__name__)
    build(sibling)


def test_adamw_declares_its_own_default_decay():
    assert AdamW.spec.options["weight_decay"].default == 0.01
    assert Adam.spec.options["weight_decay"].default == 0.0
    assert AdamW([Parameter(np.zeros(2))]).weight_decay == 0.01


def test_a_class_without_its_own_spec_cannot_register():
    class Unowned(Linear):
        pass

    with pytest.raises(bn.BarenetError, match="Unowned must declare its own 'spec'"):
        LAYERS.register()(Unowned)
    assert "Unowned" not in LAYERS


# -- a layer defined in a test: one class, and configs and model files know it ------------


@pytest.fixture
def scale_layer():
    """``y = x * a``, a learned scale per feature: a layer that exists only in this test."""

    def scale_arrays(o):
        return [(o["num_features"],)]

    @LAYERS.register()
    class Scale(Module):
        spec = Spec({"num_features": size(inferred=True), "start": number(1.0)},
                    scale_arrays)
        short_name = "scale"

        def __init__(self, num_features, start=1.0):
            super().__init__()
            check_options(type(self).__name__, self.spec,
                          {"num_features": num_features, "start": start})
            self.num_features, self.start = num_features, float(start)
            self.params["a"] = Parameter(np.full(num_features, self.start, np.float32), "a")

        def forward(self, x):
            self.x = x
            return x * self.params["a"].data

        def backward(self, grad_out):
            self.params["a"].grad[...] = (grad_out * self.x).sum(axis=0)
            return grad_out * self.params["a"].data

        def config(self):
            return {"num_features": self.num_features, "start": self.start}

        @classmethod
        def gradcheck_examples(cls, rng):
            return [("", cls(4, start=0.5).astype(np.float64), rng.standard_normal((3, 4)))]

    try:
        yield Scale
    finally:
        LAYERS._items.pop("Scale", None)


def test_a_layer_registers_itself_and_round_trips_a_config_and_a_model_file(
        scale_layer, tmp_path, rng):
    assert LAYERS["Scale"] is scale_layer and layer_spec("Scale") is scale_layer.spec
    config = configs.validate({"model": {"input_shape": [6], "layers": [
        {"type": "Scale", "start": 2.0}, {"type": "Linear", "out_features": 3}]}})
    model = build_model(config["model"], np.random.default_rng(0))
    assert [type(layer) for layer in model.layers] == [scale_layer, Linear]
    assert model.layers[0].config() == {"num_features": 6, "start": 2.0}
    with pytest.raises(bn.BarenetError, match=r"layer 1 \(Scale\).*start must be a number"):
        configs.validate({"model": {"input_shape": [6], "layers": [
            {"type": "Scale", "start": -1.0}, {"type": "Linear", "out_features": 3}]}})

    model.layers[0].params["a"].data[...] = rng.uniform(0.5, 2.0, 6)
    path = tmp_path / "scale.npz"
    model.save(path)
    loaded = bn.load(path)
    assert type(loaded.layers[0]) is scale_layer
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name], array)
    x = rng.standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    (case,) = layer_examples("Scale", scale_layer, rng)
    assert case.check().passed()
