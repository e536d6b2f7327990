"""Each layer and loss, from the registry: every one declares its own gradient-check
example, and every example passes, so a new layer is checked without a line here. (Every
layer plain against fast is in test_switch.py; every spec against forward in
test_specs.py.)"""

from barenet.nn.gradcheck import layer_examples, loss_examples
from barenet.nn.layers import LAYERS
from barenet.nn.losses import LOSSES

from .checks import GRAD_TOL as TOL


def test_every_registered_layer_and_loss_has_a_passing_example(rng):
    for name in LAYERS.names():  # each its own, in its own file
        assert "gradcheck_examples" in vars(LAYERS[name]), name
    for registry, examples in ((LAYERS, layer_examples), (LOSSES, loss_examples)):
        for name in registry.names():
            cases = examples(name, registry[name], rng)
            assert cases, f"no gradcheck example for {name}"
            for case in cases:
                result = case.check()
                assert result.passed(TOL), (name, case.label, result.errors)


def test_barenet_gradcheck_examples_cover_the_new_layers(rng):
    for name in ("Conv2d", "MaxPool2d", "AvgPool2d", "GlobalAvgPool2d"):
        (case,) = layer_examples(name, LAYERS[name], rng)
        assert case.check().passed(TOL), (name, case.check().errors)
