"""ONNX export: onnxruntime gives what predict_proba gives, for every layer type.

Each model is run on real MNIST test images by barenet and by onnxruntime on the
exported file: the same argmax everywhere, probabilities within 1e-5.
"""

import numpy as np
import pytest
from conftest import REAL_MNIST

import barenet as bn
from barenet.cli.main import main
from barenet.model.onnx import export_onnx, exportable
from barenet.nn.layers import (
    LAYERS,
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
    Softmax,
    Tanh,
)
from barenet.nn.module import Module

pytest.importorskip("onnx", reason="onnx is not installed: pip install -e '.[onnx]'")
ort = pytest.importorskip("onnxruntime",
                          reason="onnxruntime is not installed: pip install -e '.[onnx]'")


@pytest.fixture(scope="module")
def test_images():
    if not REAL_MNIST.is_dir():
        pytest.skip(f"the MNIST files are not in {REAL_MNIST}")
    return bn.data.load_dataset("mnist", REAL_MNIST).test_images[:300]


def with_statistics(model, rng):
    """Random batch-norm statistics and parameters: eval mode must use them all."""
    for layer in model.layers:
        if isinstance(layer, (BatchNorm1d, BatchNorm2d)):
            c = layer.num_features
            layer.gamma.data[...] = rng.uniform(0.5, 2, c)
            layer.beta.data[...] = rng.normal(0, 0.5, c)
            layer.buffers["running_mean"][...] = rng.normal(0, 0.5, c)
            layer.buffers["running_var"][...] = rng.uniform(0.5, 2, c)
        if getattr(layer, "bias", None) is not None:
            layer.bias.data[...] = rng.normal(0, 0.1, layer.bias.data.shape)
    return model


def models(rng):
    norm = {"normalization": {"mean": 0.1307, "std": 0.3081},
            "calibration": {"temperature": 1.7}}
    yield "mlp", bn.Sequential([
        Linear(784, 64, rng=1), BatchNorm1d(64), ReLU(), Dropout(0.3, rng=2),
        Linear(64, 32, init="xavier", rng=3), Tanh(), Linear(32, 16, rng=4), LeakyReLU(0.1),
        Linear(16, 12, rng=5), Sigmoid(), Linear(12, 10, rng=6)], metadata=norm)
    yield "cnn", bn.Sequential([
        Conv2d(1, 8, 3, padding=1, rng=1), BatchNorm2d(8), MaxPool2d(2), ReLU(),
        Conv2d(8, 6, (3, 2), stride=(2, 1), padding=(1, 0), bias=False, rng=2),
        MaxPool2d(3, stride=2, padding=1), AvgPool2d(2, padding=1), Flatten(),
        Linear(6 * 3 * 4, 10, rng=3)], input_shape=(1, 28, 28), metadata=norm)
    yield "gap-softmax", bn.Sequential([
        Conv2d(1, 10, 5, stride=2, rng=1), ReLU(), AvgPool2d(3, stride=1),
        GlobalAvgPool2d(), Softmax()], input_shape=(1, 28, 28))
    yield "float64", bn.Sequential([Linear(784, 10, rng=1)],
                                   metadata={"calibration": {"temperature": 0.8}}).astype(
        np.float64)


def run_onnx(path, images):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = (images.astype(np.float32) / 255)[:, None]
    logits, probabilities = session.run(["logits", "probabilities"], {"image": x})
    return logits, probabilities


@pytest.mark.parametrize("name", ["mlp", "cnn", "gap-softmax", "float64"])
def test_onnxruntime_gives_predict_probas_answers(tmp_path, test_images, rng, name):
    model = dict(models(rng))[name]
    with_statistics(model, rng)
    path = tmp_path / f"{name}.onnx"
    export_onnx(model, path)
    logits, probabilities = run_onnx(path, test_images)
    ours = model.predict_proba(test_images)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), ours.argmax(axis=1))
    np.testing.assert_allclose(probabilities, ours, atol=1e-5, rtol=0)
    np.testing.assert_allclose(logits, model.predict_logits(test_images), atol=1e-4, rtol=1e-5)


def test_every_layer_type_has_an_exporter_and_the_tests_cover_it(rng):
    assert all(exportable(LAYERS[name]) for name in LAYERS.names())
    covered = {type(layer).__name__ for _, model in models(rng) for layer in model.layers}
    assert covered == set(LAYERS.names())


class Mystery(Module):
    def forward(self, x):
        return x


def test_a_layer_with_no_onnx_equivalent_is_named(tmp_path):
    model = bn.Sequential([Linear(784, 10, rng=0), Mystery()])
    with pytest.raises(bn.BarenetError, match=r"layer 1 \(Mystery\) has no ONNX equivalent"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_export_command_writes_a_file_onnxruntime_runs(tmp_path, test_images, capsys,
                                                       monkeypatch):
    run = tmp_path / "runs" / "mine"
    run.mkdir(parents=True)
    model = with_statistics(dict(models(np.random.default_rng(0)))["cnn"],
                            np.random.default_rng(1))
    model.save(run / "best.npz")
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(run)]) == 0
    out = capsys.readouterr().out
    # beside the model, not in the current folder (issue 33), and it says where
    assert out.startswith(f"{run / 'best.onnx'}: ONNX (opset 17)") and "'probabilities'" in out
    _, probabilities = run_onnx(run / "best.onnx", test_images[:20])
    np.testing.assert_allclose(probabilities, model.predict_proba(test_images[:20]), atol=1e-5)
    assert main(["export", str(run / "best.npz"), "--out", str(tmp_path / "x" / "y.onnx")]) == 0
    assert (tmp_path / "x" / "y.onnx").is_file()


def test_export_replaces_no_file(tmp_path, capsys):
    """A second export goes to a free name; an --out that exists is refused, kept as it was."""
    model_path = tmp_path / "m.npz"
    bn.Sequential([Linear(784, 10, rng=0)], input_shape=(784,)).save(model_path)
    (tmp_path / "m.onnx").write_bytes(b"the user's own file")
    assert main(["export", str(model_path)]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'm-2.onnx'}: ONNX")
    assert (tmp_path / "m.onnx").read_bytes() == b"the user's own file"
    assert main(["export", str(model_path), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "already exists and barenet replaces no file it did not make" in err
    assert (tmp_path / "m.onnx").read_bytes() == b"the user's own file"


def test_export_of_a_file_that_is_not_a_model_is_one_line(tmp_path, capsys):
    bad = tmp_path / "notes.npz"
    bad.write_bytes(b"not a zip")
    assert main(["export", str(bad), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not a readable barenet model" in err
    assert not (tmp_path / "m.onnx").exists()


def test_export_to_a_folder_that_cannot_be_written_is_one_line(tmp_path, capsys):
    model_path = tmp_path / "m.npz"
    bn.Sequential([Linear(784, 10, rng=0)]).save(model_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["export", str(model_path), "--out", str(blocker / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot write to the output folder" in err
    assert main(["export", str(model_path), "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_a_model_too_large_for_one_onnx_file_is_refused_before_building(tmp_path,
                                                                        monkeypatch):
    import barenet.model.onnx as export

    model = bn.Sequential([Linear(784, 10, rng=0)])  # 7,850 weights: 31,400 bytes as float32
    assert 31_400 < export.onnx_bytes(model) < 31_400 + 20_000
    monkeypatch.setattr(export, "MAX_BYTES", 31_400)  # protobuf's 2 GB, scaled down

    def no_graph():
        raise AssertionError("the graph was built")

    monkeypatch.setattr(export, "_Graph", no_graph)
    with pytest.raises(bn.BarenetError, match=r"the model would take about \d+.\d KB as ONNX "
                                              r"\(its weights as float32\), more than the "
                                              "30.7 KB protobuf can write in one file; export a "
                                              "smaller model"):
        export_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("spoil, where", [
    (lambda m: m.layers[0].weight.data.__setitem__((5, 3), 1e39), "the weight of layer 0"),
    (lambda m: m.layers[2].bias.data.__setitem__(1, -np.inf), "the bias of layer 2"),
    (lambda m: m.layers[1].buffers["running_var"].__setitem__(0, np.nan),
     "the var of layer 1 \\(BatchNorm1d\\)"),
    (lambda m: m.metadata.update(normalization={"mean": 0.0, "std": 1e-40}),
     "the inv_std of the normalisation"),
], ids=["weight", "bias", "running_var", "normalisation"])
def test_values_float32_cannot_hold_are_refused(tmp_path, spoil, where):
    model = bn.Sequential([Linear(784, 16, rng=0), BatchNorm1d(16), Linear(16, 10, rng=1)],
                          metadata={"normalization": {"mean": 0.13, "std": 0.31}})
    model.astype(np.float64)
    export_onnx(model, tmp_path / "good.onnx")
    spoil(model)
    with pytest.raises(bn.BarenetError, match=f"cannot export to ONNX: {where}.* holds values "
                                              "that are NaN or infinite as float32") as info:
        export_onnx(model, tmp_path / "m.onnx")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "m.onnx").exists()
