"""Model files: exact round trips, and every kind of hostile or broken file refused with
a one-line BarenetError; prediction on raw uint8 images with the saved normalisation."""

import io
import json
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

import barenet as bn
from barenet.nn.layers import BatchNorm1d, Dropout, Flatten, Linear, ReLU, Softmax
from barenet.nn.losses import SoftmaxCrossEntropy
from barenet.nn.optim import SGD

NORMALIZATION = {"mean": 0.1307, "std": 0.3081}
METADATA = {"normalization": NORMALIZATION, "class_names": [str(d) for d in range(10)],
            "dataset": "synthetic", "metrics": {"val_accuracy": 0.25, "epochs": 3}}


def trained_model(dtype, seed=0):
    """A small 784-input model with batch-norm, trained a few steps so the running
    statistics and every weight are non-trivial."""
    rng = np.random.default_rng(seed)
    model = bn.Sequential([Linear(784, 32, rng=rng), BatchNorm1d(32), ReLU(),
                           Dropout(0.2, rng=rng), Linear(32, 10, init="xavier", rng=rng)],
                          metadata=METADATA).astype(dtype)
    loss_fn, opt = SoftmaxCrossEntropy(), SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):
        x = rng.standard_normal((32, 784)).astype(dtype)
        loss_fn.forward(model.forward(x), rng.integers(0, 10, 32))
        model.backward(loss_fn.backward())
        opt.step()
    return model


def raw_images(n, seed=1):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    model = trained_model(dtype)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = bn.load(path)
    images = raw_images(50)
    assert np.array_equal(loaded.predict_proba(images), model.predict_proba(images))
    assert np.array_equal(loaded.predict(images), model.predict(images))
    assert loaded.dtype == np.dtype(dtype)
    assert loaded.config() == model.config()
    assert loaded.metadata == METADATA
    assert loaded.input_shape == (784,)
    state, loaded_state = model.state_dict(), loaded.state_dict()
    assert list(state) == list(loaded_state)
    for name, array in state.items():
        assert loaded_state[name].dtype == array.dtype
        assert np.array_equal(loaded_state[name], array), name
    running_mean = loaded.layers[1].buffers["running_mean"]
    assert np.array_equal(running_mean, model.layers[1].buffers["running_mean"])
    assert np.any(running_mean != 0)
    assert not loaded.training or loaded.training == model.training


def test_save_metadata_argument_and_no_stray_files(tmp_path):
    model = trained_model(np.float32)
    path = tmp_path / "sub" / "m.npz"
    bn.save(model, path, metadata={"metrics": {"test_accuracy": 0.5}})
    loaded = bn.load(path)
    assert loaded.metadata["metrics"] == {"test_accuracy": 0.5}
    assert loaded.metadata["normalization"] == NORMALIZATION
    assert [p.name for p in path.parent.iterdir()] == ["m.npz"]  # no temporary left


def test_save_refuses_unsaveable_models(tmp_path):
    model = trained_model(np.float32)
    with pytest.raises(bn.BarenetError, match="NaN"):
        model.save(tmp_path / "nan.npz", metadata={"metrics": {"loss": float("nan")}})
    with pytest.raises(bn.BarenetError, match="metadata"):
        model.save(tmp_path / "obj.npz", metadata={"thing": object()})

    class Custom(ReLU):
        pass

    with pytest.raises(bn.BarenetError, match="not a registered layer"):
        bn.Sequential([Linear(3, 2), Custom()]).save(tmp_path / "custom.npz")
    assert not any(tmp_path.iterdir())


# -- hostile and broken files ------------------------------------------------------------


def members_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def header_of(members):
    return json.loads(members["__barenet__"].tobytes().decode("utf-8"))


def with_header(members, header):
    text = json.dumps(header).encode("utf-8")
    return members | {"__barenet__": np.frombuffer(text, dtype=np.uint8)}


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "good.npz"
    trained_model(np.float32).save(path)
    return path.read_bytes()


@pytest.fixture
def saved(tmp_path, good_file):
    """Path of a fresh copy of a valid saved model, and its members (name -> array)."""
    path = _write(tmp_path / "good.npz", good_file)
    return path, members_of(path)


def expect_refusal(path, *phrases):
    with pytest.raises(bn.BarenetError) as info:
        bn.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for phrase in phrases:
        assert phrase in message, message
    return message


def write_npz(path, members, **kwargs):
    np.savez(path, **members, **kwargs)
    return path


def test_pickled_object_array_refused(saved, tmp_path):
    path, members = saved
    evil = np.empty(1, dtype=object)
    evil[0] = {"payload": "would run code on unpickling"}
    expect_refusal(write_npz(tmp_path / "a.npz", members | {"0.weight": evil}), "pickle")
    header_evil = np.empty(1, dtype=object)
    header_evil[0] = "x"
    expect_refusal(write_npz(tmp_path / "b.npz", members | {"__barenet__": header_evil}),
                   "pickle")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.97])
def test_truncated_file_refused(saved, tmp_path, fraction):
    path, _ = saved
    data = path.read_bytes()
    truncated = tmp_path / "t.npz"
    truncated.write_bytes(data[:int(len(data) * fraction)])
    expect_refusal(truncated, "not a readable barenet model file")


def test_corrupted_array_bytes_refused(saved, tmp_path):
    path, _ = saved
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents["0.weight.npy"] = contents["0.weight.npy"][:200]  # cut inside the data
    bad = tmp_path / "c.npz"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    expect_refusal(bad, "more than this file can hold")  # its bytes cannot hold the weights


def test_not_a_zip_refused(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("this is not a model\n")
    expect_refusal(path, "not a readable barenet model file")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    expect_refusal(empty, "not a readable barenet model file")


def test_zip_that_is_not_a_model_refused(tmp_path):
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("readme.txt", "hello")
    expect_refusal(plain, "not a barenet model file")
    other_npz = write_npz(tmp_path / "other.npz", {"weights": np.ones(3)})
    expect_refusal(other_npz, "not a barenet model file")
    not_json = write_npz(tmp_path / "nj.npz", {"__barenet__": np.frombuffer(b"{nope", np.uint8)})
    expect_refusal(not_json, "not valid JSON")
    wrong_format = write_npz(tmp_path / "wf.npz", with_header({}, {"format": "keras"}))
    expect_refusal(wrong_format, "wrong format name")


def test_newer_format_version_refused(saved, tmp_path):
    _, members = saved
    header = header_of(members) | {"format_version": 99}
    expect_refusal(write_npz(tmp_path / "v.npz", with_header(members, header)), "version 99")


def test_wrong_array_shape_refused(saved, tmp_path):
    _, members = saved
    bad = members | {"4.weight": np.zeros((32, 11), np.float32)}
    expect_refusal(write_npz(tmp_path / "s.npz", bad), "'4.weight'", "(32, 11)", "(32, 10)")
    huge = members | {"0.bias": np.zeros(100_000, np.float32)}
    expect_refusal(write_npz(tmp_path / "h.npz", huge), "'0.bias'")


def test_wrong_array_dtype_refused(saved, tmp_path):
    _, members = saved
    bad = members | {"0.bias": np.zeros(32, np.int32)}
    expect_refusal(write_npz(tmp_path / "d.npz", bad), "'0.bias'", "int32")


def test_unknown_layer_type_refused(saved, tmp_path):
    _, members = saved
    header = header_of(members)
    header["architecture"]["layers"][2] = {"type": "os.system", "config": {}}
    expect_refusal(write_npz(tmp_path / "u.npz", with_header(members, header)),
                   "unknown type 'os.system'", "Linear")


def test_bad_layer_options_refused(saved, tmp_path):
    _, members = saved
    header = header_of(members)
    header["architecture"]["layers"][0]["config"]["init"] = "magic"
    expect_refusal(write_npz(tmp_path / "o.npz", with_header(members, header)),
                   "layer 0 (Linear): init must be one of he, lecun, xavier, got 'magic'")
    header = header_of(members)
    header["architecture"]["layers"][3]["config"]["p"] = 1.5
    expect_refusal(write_npz(tmp_path / "p.npz", with_header(members, header)), "layer 3")
    header = header_of(members)
    header["architecture"]["layers"][0]["config"]["evil"] = {"__class__": "x"}
    expect_refusal(write_npz(tmp_path / "e.npz", with_header(members, header)), "'evil'")


def test_missing_array_refused(saved, tmp_path):
    _, members = saved
    del members["1.running_var"]
    expect_refusal(write_npz(tmp_path / "m.npz", members), "'1.running_var' is missing")


def test_extra_array_refused(saved, tmp_path):
    _, members = saved
    extra = members | {"5.weight": np.ones(3, np.float32)}
    expect_refusal(write_npz(tmp_path / "x.npz", extra), "unexpected arrays", "5.weight")
    path = tmp_path / "y.npz"
    write_npz(path, members)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.txt", "hidden")
    expect_refusal(path, "unexpected arrays", "notes.txt")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_array_refused(saved, tmp_path, value):
    _, members = saved
    weight = members["0.weight"].copy()
    weight[3, 4] = value
    expect_refusal(write_npz(tmp_path / "n.npz", members | {"0.weight": weight}),
                   "'0.weight' holds NaN or infinite values")


@pytest.mark.parametrize("sizes", [(10**9, 10), (2**20, 2**20), (-5, 10), (784, 2**20)])
def test_absurd_layer_sizes_refused_before_allocating(saved, tmp_path, sizes):
    _, members = saved
    header = header_of(members)
    header["architecture"]["layers"][0]["config"].update(in_features=sizes[0],
                                                          out_features=sizes[1])
    message = expect_refusal(write_npz(tmp_path / "big.npz", with_header(members, header)),
                             "layer 0 (Linear)")
    assert "must be an integer in [1, 65536]" in message


@pytest.mark.parametrize("normalization", [{"mean": "a", "std": 1}, {"mean": 0, "std": 0},
                                           {"mean": 0}, "zero"])
def test_bad_normalization_metadata_refused(saved, tmp_path, normalization):
    _, members = saved
    header = header_of(members)
    header["metadata"]["normalization"] = normalization
    expect_refusal(write_npz(tmp_path / "bn.npz", with_header(members, header)), "normalization")


def test_missing_file_and_huge_header(tmp_path):
    expect_refusal(tmp_path / "nothing.npz", "no such model file")
    big = np.zeros(2 << 20, np.uint8)
    expect_refusal(write_npz(tmp_path / "hh.npz", {"__barenet__": big}), "__barenet__")


def test_bad_input_shape_and_dtype_in_header(saved, tmp_path):
    _, members = saved
    header = header_of(members)
    header["architecture"]["input_shape"] = [0, -3]
    expect_refusal(write_npz(tmp_path / "is.npz", with_header(members, header)), "input_shape")
    header = header_of(members) | {"dtype": "object"}
    expect_refusal(write_npz(tmp_path / "dt.npz", with_header(members, header)), "float32")


# -- prediction on raw images ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predict_on_raw_uint8_images(dtype):
    model = trained_model(dtype).eval()
    images = raw_images(20)
    x = ((images.astype(np.float64) / 255 - NORMALIZATION["mean"]) / NORMALIZATION["std"])
    expected_logits = model.forward(x.reshape(20, 784).astype(dtype))
    expected = np.exp(expected_logits - expected_logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    model.train()  # predict must switch to eval itself and switch back
    proba = model.predict_proba(images)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(proba, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=tol)
    assert model.training and all(layer.training for layer in model.layers)
    flat = model.predict_proba(images.reshape(20, 784))
    assert np.array_equal(flat, proba)
    assert np.array_equal(model.predict(images), np.argmax(expected, axis=1))
    assert np.array_equal(model.predict(images, batch_size=7), model.predict(images))
    assert model.predict(images[:0]).shape == (0,)
    assert model.predict_proba(images[:0]).shape == (0, 10)


def test_predict_with_image_input_shape_and_softmax_output(rng):
    model = bn.Sequential([Flatten(), Linear(784, 10, rng=rng), Softmax()],
                          input_shape=(1, 28, 28))
    images = raw_images(5)
    proba = model.predict_proba(images)
    np.testing.assert_allclose(proba, model.forward(images.reshape(5, 1, 28, 28) / 255),
                               rtol=1e-5)
    assert np.array_equal(model.predict_proba(images.reshape(5, 1, 28, 28)), proba)
    assert model.predict(images[:0]).shape == (0,)


@pytest.mark.parametrize("shape, problem", [
    ((28, 28), "no batch axis"), ((784,), "no batch axis"), ((3, 27, 27), "784 values each"),
    ((3, 784, 2), "784 values each"), ((), "784 values each")])
def test_predict_wrong_image_shape_is_a_clear_error(shape, problem):
    model = trained_model(np.float32)
    with pytest.raises(bn.BarenetError, match=problem) as info:
        model.predict(np.zeros(shape, np.uint8))
    assert "\n" not in str(info.value) and str(shape) in str(info.value)


def test_predict_refuses_non_numeric_images():
    with pytest.raises(bn.BarenetError, match="numeric"):
        trained_model(np.float32).predict(np.array([["a"] * 784]))


def test_loaded_file_bytes_not_needed_after_load(saved):
    """load reads everything up front: the file can go away afterwards."""
    path, _ = saved
    model = bn.load(path)
    data = path.read_bytes()
    path.unlink()
    assert model.predict(raw_images(3)).shape == (3,)
    assert bn.load(_write(path, data)).config() == model.config()


def _write(path, data):
    path.write_bytes(data)
    return path


def test_header_is_plain_json_readable_without_barenet(saved):
    path, _ = saved
    with zipfile.ZipFile(path) as archive:
        raw = np.lib.format.read_array(io.BytesIO(archive.read("__barenet__.npy")))
    header = json.loads(raw.tobytes())
    assert header["format"] == "barenet-model"
    assert [layer["type"] for layer in header["architecture"]["layers"]] == \
        ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert header["metadata"] == METADATA


def patch_zip_headers(data, local_offset, central_offset, change):
    """Apply ``change(old byte) -> new byte`` at an offset of every zip member header."""
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        start = data.find(signature)
        while start >= 0:
            data[start + offset] = change(data[start + offset])
            start = data.find(signature, start + 4)
    return bytes(data)


@pytest.mark.parametrize("kind", ["encrypted", "unknown compression"])
def test_unreadable_zip_members_refused(saved, tmp_path, kind):
    path, _ = saved
    if kind == "encrypted":  # general-purpose flag bit 0
        data = patch_zip_headers(path.read_bytes(), 6, 8, lambda b: b | 1)
    else:  # compression method 99 (AES), which zipfile cannot read
        data = patch_zip_headers(path.read_bytes(), 8, 10, lambda b: 99)
    expect_refusal(_write(tmp_path / "z.npz", data), "not a readable barenet model file")


def test_predict_rejects_bad_batch_size():
    with pytest.raises(bn.BarenetError, match="batch_size"):
        trained_model(np.float32).predict(raw_images(2), batch_size=0)


def save_unchecked(model, path, monkeypatch):
    """Write ``model`` as a hostile (or older) writer would: without the metadata check."""
    import barenet.model.file

    with monkeypatch.context() as patch:
        patch.setattr(barenet.model.file, "Card", SimpleNamespace(read=lambda *args: None))
        model.save(path)


@pytest.mark.parametrize("metadata, problem", [
    ({"class_names": ["0", "1\x1b[31m"]}, "control characters"),
    ({"class_names": ["a\nb"]}, "control characters"),
    ({"class_names": ["x\r"]}, "control characters"),
    ({"class_names": [3]}, "class_names must be strings"),
    ({"class_names": ["0", ".."]}, r"class name '\.\.' cannot name a folder"),
    ({"class_names": ["", "1"]}, "class name '' cannot name a folder"),
    ({"class_names": ["."]}, "class name '.' cannot name a folder"),
    ({"class_names": ["a", "b", "a"]}, "class_names must differ"),
    ({"normalization": {"mean": [0.1, 0.2, 0.3], "std": 1.0}}, "one number each"),
    ({"normalization": {"mean": 0.1, "std": 0.0}}, "std > 0"),
    ({"calibration": {"temperature": -1}}, "temperature"),
])
def test_metadata_save_refuses_is_refused_by_load_too(tmp_path, monkeypatch, metadata, problem,
                                                       linear_model):
    model = linear_model(4, 2, **metadata)
    path = tmp_path / "m.npz"
    with pytest.raises(bn.BarenetError, match=problem) as err:
        model.save(path)
    assert "\n" not in str(err.value) and not path.exists()
    save_unchecked(model, path, monkeypatch)
    with pytest.raises(bn.BarenetError, match=problem) as err:
        bn.load(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("value", [-1.0, 0.0])
def test_a_non_positive_running_variance_is_refused(tmp_path, value):
    from barenet.nn.layers import BatchNorm1d, Linear

    model = bn.Sequential([Linear(4, 3, rng=0), BatchNorm1d(3)])
    path = tmp_path / "m.npz"
    model.save(path)
    members = members_of(path)
    members["1.running_var"] = np.array([1.0, value, 1.0], np.float32)
    expect_refusal(write_npz(tmp_path / "v.npz", members), "'1.running_var' must be positive")


def test_an_onnx_file_given_as_a_model_is_named_as_such(tmp_path):
    """Issue 33, item 8: the exported .onnx given as --model said BadZipFile, re-save."""
    path = tmp_path / "cnn0.onnx"
    path.write_bytes(b"\x08\x08\x12\x07barenet")
    with pytest.raises(bn.BarenetError, match="an ONNX file, which barenet writes for other "
                                              "programs but does not read; give the .npz"):
        bn.load(path)
