"""barenet.nn.options: the one home of what configs, model files and constructors accept.

The declared options must be the constructors' own, the declared arrays and
shapes must be what the built layers hold and give, and the limits must be
the same for writers and readers: what validate accepts, training can save
and load reads back.
"""

import inspect
import json
import zipfile

import numpy as np
import pytest

import barenet as bn
from barenet.data.augment import AUGMENT
from barenet.io.memory import parse_bytes, training_bytes
from barenet.nn.init import INITIALIZERS
from barenet.nn.layers import LAYERS, Conv2d, GlobalAvgPool2d, Linear
from barenet.nn.optim import OPTIMIZERS, SCHEDULES
from barenet.nn.options import (
    INITS,
    REQUIRED,
    check_options,
    choice,
    flag,
    number,
    numbers,
    pair,
    size,
)
from barenet.train import config as configs
from barenet.train.builder import build_model

NOT_OPTIONS = {"self", "rng", "dtype", "params"}


def constructor_options(cls, skip=()):
    return {k for k in inspect.signature(cls.__init__).parameters
            if k not in NOT_OPTIONS and k not in skip}


def test_every_registered_class_declares_exactly_its_constructor_options():
    for registry in (LAYERS, OPTIMIZERS, SCHEDULES):
        for name in registry.names():
            assert "spec" in vars(registry[name]), name  # its own, not its parent's
    for name in LAYERS.names():
        assert set(LAYERS[name].spec.options) == constructor_options(LAYERS[name]), name
    for name in OPTIMIZERS.names():
        assert set(OPTIMIZERS[name].spec.options) == constructor_options(OPTIMIZERS[name])
    for name in SCHEDULES.names():
        assert set(SCHEDULES[name].spec.options) == constructor_options(SCHEDULES[name],
                                                                          ("lr",))
    from barenet.data import Augment

    assert set(AUGMENT.options) == constructor_options(Augment, ("fill",))
    assert set(INITS) == set(INITIALIZERS.names())


def test_declared_defaults_are_the_constructors_defaults():
    for registry in (LAYERS, OPTIMIZERS):
        for name in registry.names():
            spec = registry[name].spec
            params = inspect.signature(registry[name].__init__).parameters
            for key, option in spec.options.items():
                default = params[key].default
                if option.default is REQUIRED:
                    assert default is inspect.Parameter.empty, (name, key)
                else:
                    assert option.default == (list(default) if isinstance(default, tuple)
                                              else default) or option.default == default


LAYER_CASES = [
    ("Linear", {"in_features": 7, "out_features": 3}, (7,)),
    ("Linear", {"in_features": 7, "out_features": 3, "bias": False}, (7,)),
    ("Conv2d", {"in_channels": 2, "out_channels": 4, "kernel_size": 3}, (2, 9, 8)),
    ("Conv2d", {"in_channels": 2, "out_channels": 4, "kernel_size": [3, 2], "stride": [2, 1],
                "padding": [1, 0], "bias": False}, (2, 9, 8)),
    ("MaxPool2d", {"kernel_size": 2}, (3, 9, 8)),
    ("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, (3, 9, 8)),
    ("AvgPool2d", {"kernel_size": [2, 3], "padding": [1, 1]}, (3, 9, 8)),
    ("GlobalAvgPool2d", {}, (3, 9, 8)),
    ("BatchNorm1d", {"num_features": 5}, (5,)),
    ("BatchNorm2d", {"num_features": 3}, (3, 4, 4)),
    ("Flatten", {}, (3, 4, 5)),
    ("Dropout", {"p": 0.2}, (6,)),
    ("ReLU", {}, (6,)), ("LeakyReLU", {"alpha": 0.2}, (6,)), ("Sigmoid", {}, (6,)),
    ("Tanh", {}, (6,)), ("Softmax", {}, (6,)),
]


@pytest.mark.parametrize("kind, options, shape", LAYER_CASES)
def test_declared_arrays_and_shapes_are_the_built_layers(kind, options, shape):
    spec = LAYERS[kind].spec
    full = check_options(kind, spec, options)
    layer = LAYERS[kind](**options)
    assert spec.arrays(full) == [a.shape for a in layer.state_dict().values()]
    assert spec.values(full) == sum(a.size for a in layer.state_dict().values())
    assert spec.shape(full, shape) == layer.output_shape(shape)
    assert layer.forward(np.zeros((2, *shape), np.float32)).shape[1:] == spec.shape(full, shape)


@pytest.mark.parametrize("option, good, bad", [
    (size(), [1, 65536], [0, 65537, 2.0, True, "3", None]),
    (pair(0, low=0), [0, [1, 2]], [-1, [1], [1, 2, 3], [1.0, 2], "1"]),
    (number(0.5, high=1.0, open_high=True), [0, 0.99, 0.0], [1.0, -0.1, float("nan"),
                                                           True, "0.5"]),
    (flag(True), [True, False], [1, 0, "true"]),
    (choice("he", "he", "xavier"), ["he", "xavier"], ["magic", 1]),
    (numbers((1.0, 1.0), 0.0, 10.0, open_low=True), [[0.5, 2], [1, 1]],
     [[2, 1], [0, 1], [1], [[1, 2]], "ab"]),
])
def test_option_kinds(option, good, bad):
    for value in good:
        assert option.problem(value) is None, value
    for value in bad:
        message = option.problem(value)
        assert message and message.startswith("must be "), value


def test_the_dropout_papers_mlp_validates_and_memory_not_counts_is_the_bound(monkeypatch):
    # 784-2048-2048-2048-10: 10M weights, refused by the old 8M count limit
    layers = [{"type": "Linear", "out_features": 2048}, {"type": "ReLU"}] * 3 + [
        {"type": "Linear", "out_features": 10}]
    config = {"model": {"input_shape": [784], "layers": layers}}
    configs.validate(config, max_memory=2 << 30)
    with pytest.raises(bn.BarenetError, match="more than the 64.0 MB available.*--max-memory"):
        configs.validate(config, max_memory=64 << 20)
    monkeypatch.setenv("BARENET_MAX_MEMORY", "64M")
    with pytest.raises(bn.BarenetError, match="64.0 MB available"):
        configs.validate(config)


def test_training_memory_counts_the_batch():
    config = configs.load("cnn")
    need = training_bytes(1, 0, 1, 1, 4)
    assert need == 4 * (2 + 2)
    with pytest.raises(bn.BarenetError, match="batch_size 4096"):
        configs.validate({**config.to_dict(), "batch_size": 4096}, max_memory=1 << 30)
    configs.validate(config.to_dict(), max_memory=1 << 30)


def test_parse_bytes():
    assert parse_bytes("512M") == 512 << 20
    assert parse_bytes("2g") == 2 << 30
    assert parse_bytes("1000") == 1000
    for bad in ("", "lots", "-1G", "0", "nanM", "1e308T", "2000T"):
        with pytest.raises(bn.BarenetError, match="--max-memory must be a memory size"):
            parse_bytes(bad)


@pytest.mark.parametrize("variable, value", [("BARENET_MAX_MEMORY", "1e308T"),
                                             ("BARENET_MAX_MEMORY", "lots"),
                                             ("BARENET_THREADS", "\u00b2"),
                                             ("BARENET_THREADS", "0"),
                                             ("BARENET_THREADS", "100000")])
def test_a_bad_environment_setting_is_one_line_naming_it(monkeypatch, capsys, variable, value):
    """Item 20: these gave tracebacks, or blamed a good model file."""
    from barenet.cli.main import main

    monkeypatch.setenv(variable, value)
    assert main(["xor", "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"barenet: error: ${variable} must be") and err.count("\n") == 1


def test_a_batch_that_does_not_fit_in_memory_is_refused_before_allocating(monkeypatch):
    """Item 9: `evaluate --batch-size 10000` asked for 16.8 GiB and ended in a traceback."""
    from barenet.nn.layers import Conv2d, Flatten, Linear, ReLU

    model = bn.Sequential([Conv2d(1, 64, 3, padding=1), ReLU(), Flatten(),
                           Linear(64 * 28 * 28, 10)], input_shape=(1, 28, 28))
    images = np.zeros((2000, 28, 28), np.uint8)
    monkeypatch.setenv("BARENET_MAX_MEMORY", "200M")
    with pytest.raises(bn.BarenetError, match="predicting 2,000 images at a time"):
        model.predict_logits(images, batch_size=2000)
    assert model.predict_logits(images[:10], batch_size=64).shape == (10, 10)


def test_a_config_whose_model_file_the_loader_would_refuse_is_refused_first():
    # 10^5 ReLU layers: trained to the end, best.npz would pass the 1 MB header limit
    layers = [{"type": "Linear", "out_features": 10}] + [{"type": "ReLU"}] * 100_000
    with pytest.raises(bn.BarenetError, match="description, more than the 1,048,576"):
        configs.validate({"model": {"input_shape": [784], "layers": layers}})
    with pytest.raises(bn.BarenetError, match="name"):
        configs.validate({"name": "x" * 1_100_000, "model": {"input_shape": [784], "layers": [
            {"type": "Linear", "out_features": 10}]}})


def test_save_refuses_what_load_would_refuse(tmp_path, linear_model):
    model = linear_model(4, 2, notes="x" * (1 << 20))
    with pytest.raises(bn.BarenetError, match="more than the 1,048,576 a model file may hold"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def forged(path, layers, input_shape, arrays):
    """A model file with this header and these arrays, as a hostile writer makes it."""
    header = {"format": "barenet-model", "format_version": 1, "dtype": "float32",
              "architecture": {"layers": layers, "input_shape": input_shape},
              "metadata": {}}
    members = {"__barenet__": np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays}
    np.savez(path, **members)
    return path


def test_a_small_file_cannot_make_the_loader_allocate_gigabytes(tmp_path):
    # The attack: Conv2d(1, 262144, 1) -> GlobalAvgPool2d -> Linear, a 13 KB file that made
    # predict peak at 905 MB and evaluate ask for 196 GiB.
    conv = Conv2d(1, 65536, 1, rng=0)
    head = Linear(65536, 1, rng=0)
    model = bn.Sequential([conv, GlobalAvgPool2d(), head], input_shape=(1, 28, 28))
    arrays = {f"{i}.{k}": v for i, layer in enumerate(model.layers)
              for k, v in layer.state_dict().items()}
    layers = model.config()["layers"]
    path = forged(tmp_path / "wide.npz", layers, [1, 28, 28], arrays)
    with pytest.raises(bn.BarenetError) as info:
        bn.load(path)
    message = str(info.value)
    assert "\n" not in message and "values per sample" in message and "layer 0" in message
    layers[0]["config"]["out_channels"] = 262144
    path = forged(tmp_path / "wider.npz", layers, [1, 28, 28], arrays)
    with pytest.raises(bn.BarenetError, match="out_channels must be an integer in"):
        bn.load(path)


def test_weights_the_files_bytes_cannot_hold_are_refused_before_allocating(tmp_path):
    layers = [{"type": "Linear", "config": {"in_features": 4096, "out_features": 4096}}]
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:  # 64 MB of zeros
        header = {"format": "barenet-model", "format_version": 1, "dtype": "float32",
                  "architecture": {"layers": layers, "input_shape": [4096]}, "metadata": {}}
        archive.writestr("__barenet__.npy", _npy(np.frombuffer(json.dumps(header).encode(),
                                                               np.uint8)))
        archive.writestr("0.weight.npy", _npy(np.zeros((4096, 4096), np.float32)))
        archive.writestr("0.bias.npy", _npy(np.zeros(4096, np.float32)))
    assert path.stat().st_size < 200_000
    with pytest.raises(bn.BarenetError, match="more than this file can hold"):
        bn.load(path)


def _npy(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_building_from_a_config_allocates_nothing_before_the_whole_model_fits():
    spec = {"input_shape": [784], "layers": [{"type": "Linear", "out_features": 65536},
                                             {"type": "Linear", "out_features": 65536}]}
    with pytest.raises(bn.BarenetError, match=r"layer 1 \(Linear\): the 51,445,760 weights"):
        build_model(spec, np.random.default_rng(0), budget=(1 << 20, 4))
    with pytest.raises(bn.BarenetError, match=r"layer 2 \(Linear\).*16.0 GB available"):
        build_model(spec, np.random.default_rng(0), budget=(16 << 30, 4))  # nothing allocated
