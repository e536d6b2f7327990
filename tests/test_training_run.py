"""``barenet train``: configs, the model builder, run folders, divergence, preflight checks."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import write_mnist_slice

import barenet
from barenet.cli.main import main
from barenet.data import FILES, load_dataset
from barenet.errors import BarenetError
from barenet.io.paths import CONFIGS_DIR
from barenet.nn.layers import BatchNorm1d, Linear
from barenet.train import config as configs
from barenet.train.builder import build_model


# -- configs --------------------------------------------------------------------------
def test_shipped_configs_are_valid():
    names = sorted(p.stem for p in CONFIGS_DIR.glob("*.toml"))
    assert {"mlp", "mlp-best"} <= set(names)
    for name in names:
        config = configs.load(name)
        assert config.name == name
        model = build_model(config.model.table(), np.random.default_rng(0))
        assert model.output_shape(model.input_shape) == (10,)
        # calibration and the "not sure" bar are fitted on the validation split (issue 33)
        assert config.validation_size > 0, name


def test_fashion_config_is_the_cnn_with_the_clothes_augmentation():
    fashion, cnn = configs.load("fashion"), configs.load("cnn")
    assert fashion.model == cnn.model
    assert (fashion.dataset, fashion.non_digits) == ("fashion-mnist", 0)
    assert fashion.augment.options == {"max_shift": 1.0, "flip": True}
    assert fashion.epochs > cnn.epochs


def test_mlp_config_is_the_classic_setup():
    config = configs.load("mlp")
    model = build_model(config.model.table(), np.random.default_rng(0))
    sizes = [(layer.in_features, layer.out_features) for layer in model.layers
             if isinstance(layer, Linear)]
    assert sizes == [(784, 128), (128, 64), (64, 10)]
    assert (config.optimizer.table(), config.batch_size, config.epochs) == \
        ({"name": "adam", "lr": 1e-3}, 64, 10)


def test_defaults_and_overrides(tiny_config):
    config = configs.load(str(tiny_config), {"epochs": 7, "optimizer.lr": 0.5,
                                             "schedule.name": "cosine"})
    assert config.epochs == 7 and config.optimizer.lr == 0.5
    assert config.schedule.table() == {"name": "cosine"}
    assert config.seed == 0 and config.dataset == "mnist"


@pytest.mark.parametrize("override, fragments", [
    ({"epoch": 3}, ["unknown key 'epoch'", "epochs", "batch_size"]),
    ({"epochs": 0}, ["epochs = 0", "[1, 10000]"]),
    ({"epochs": "ten"}, ["epochs = 'ten'"]),
    ({"batch_size": True}, ["batch_size = True"]),
    ({"dataset": "cifar"}, ["mnist or fashion-mnist"]),
    ({"optimizer.name": "lbfgs"}, ["unknown optimizer 'lbfgs'", "adam", "sgd"]),
    ({"optimizer.momentun": 0.9}, ["[optimizer]", "'momentun'", "lr"]),
    ({"optimizer.lr": -1.0}, ["lr must be a number in (0, inf]"]),
    ({"optimizer.lr": float("nan")}, ["lr must be a number", "nan"]),
    ({"schedule.name": "cosine", "schedule.gamma": 0.5}, ["[schedule]", "'gamma'", "min_lr"]),
    ({"augment.max_shfit": 2}, ["[augment]", "'max_shfit'", "max_shift"]),
])
def test_bad_keys_and_values_are_refused_with_the_valid_ones(tiny_config, override, fragments):
    with pytest.raises(BarenetError) as info:
        configs.load(str(tiny_config), override)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_bad_layers_are_refused(tiny_config):
    cases = [
        ([{"type": "Dense", "out_features": 3}], "unknown layer type 'Dense'"),
        ([{"type": "Linear", "out_features": 1_000_000_000}],
         r"must be an integer in \[1, 65536\]"),
        ([{"type": "Linear", "units": 3}], "'units'"),
        ([{"type": "Dropout", "p": "half"}], "p must be a number"),
        ([], "non-empty list"),
    ]
    for layers, fragment in cases:
        with pytest.raises(BarenetError, match=fragment):
            configs.load(str(tiny_config), {"model.layers": layers})


def test_parse_value_reads_toml_and_falls_back_to_strings():
    assert configs.parse_value("3") == 3
    assert configs.parse_value("1e-3") == 1e-3
    assert configs.parse_value("true") is True
    assert configs.parse_value("[0.9, 1.1]") == [0.9, 1.1]
    assert configs.parse_value("adamw") == "adamw"


def test_dumps_round_trips_a_config(tiny_config, tmp_path):
    config = configs.load(str(tiny_config), {"augment.scale": [0.9, 1.1]})
    again = tmp_path / "again.toml"
    again.write_text(configs.dumps(config))
    assert configs.load(str(again)) == config


# -- the builder ------------------------------------------------------------------------
def test_builder_infers_input_sizes_and_is_seeded():
    spec = {"input_shape": [784], "layers": [
        {"type": "Linear", "out_features": 32}, {"type": "BatchNorm1d"}, {"type": "ReLU"},
        {"type": "Dropout", "p": 0.1}, {"type": "Linear", "out_features": 10}]}
    model = build_model(spec, np.random.default_rng(5))
    assert model.layers[0].in_features == 784 and model.layers[4].in_features == 32
    assert isinstance(model.layers[1], BatchNorm1d) and model.layers[1].num_features == 32
    again = build_model(spec, np.random.default_rng(5))
    for a, b in zip(model.parameters(), again.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_builder_asks_for_flatten():
    spec = {"input_shape": [1, 28, 28], "layers": [{"type": "Linear", "out_features": 10}]}
    with pytest.raises(BarenetError, match="put a Flatten before it"):
        build_model(spec, np.random.default_rng(0))


# -- end to end --------------------------------------------------------------------------
def test_train_writes_a_complete_run_folder(tiny_data, tiny_config, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(out), "--seed", "3"]) == 0
    printed = capsys.readouterr()
    for name in ("config.toml", "data.json", "history.json", "history.csv", "best.npz",
                 "model.npz", "checkpoint.npz", "plots/loss.png", "plots/confusion.png"):
        assert (out / name).is_file(), name
    source = json.loads((out / "data.json").read_text())
    assert source["dataset"] == "mnist" and Path(source["data_dir"]) == tiny_data.resolve()
    assert sorted(source["sha256"]) == sorted(FILES) and all(
        len(digest) == 64 for digest in source["sha256"].values())
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history["epochs"]] == [1, 2, 3]
    assert history["test"]["accuracy"] > 0.9  # the classes are separable
    assert f"test accuracy: {history['test']['accuracy']:.2%}" in printed.out
    assert "best model by validation accuracy, epoch" in printed.out
    assert "epoch 3: train loss" in printed.out  # the bar is off in a log: the epoch lines stay
    header = (out / "history.csv").read_text().splitlines()[0]
    assert header.startswith("epoch,train_loss") and header.endswith(",label_smoothing,non_digits")
    best = barenet.load(out / "best.npz")
    assert best.metadata["dataset"] == "mnist" and best.metadata["config"] == "tiny"
    assert best.metadata["metrics"]["test_accuracy"] == history["test"]["accuracy"]
    assert configs.load(str(out / "config.toml")).seed == 3


def test_same_seed_same_weights(tiny_data, tiny_config, tmp_path):
    for name in ("a", "b"):
        assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                     "--out", str(tmp_path / name), "--no-plots",
                     "--set", "augment.max_shift=1"]) == 0
    a, b = (barenet.load(tmp_path / name / "model.npz").state_dict() for name in ("a", "b"))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_existing_run_is_not_overwritten(tiny_data, tiny_config, tmp_path, capsys):
    args = ["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
            "--out", str(tmp_path / "run"), "--no-plots"]
    assert main(args) == 0
    before = (tmp_path / "run" / "model.npz").read_bytes()
    assert main(args) == 2
    assert "already holds a finished run" in capsys.readouterr().err
    assert (tmp_path / "run" / "model.npz").read_bytes() == before


def test_divergence_stops_with_advice_and_no_broken_model(tiny_data, tiny_config, tmp_path,
                                                         capsys):
    out = tmp_path / "run"
    code = main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(out), "--optimizer", "sgd", "--lr", "1e30", "--no-plots"])
    err = capsys.readouterr().err
    assert code == 2
    # a tenth of 1e30 would diverge too: the optimizer's default, named as option and flag
    assert "lower learning rate (the config's [optimizer] lr, or --lr; e.g. --lr 0.01)" in err
    assert "epoch 1, batch" in err
    assert "no model or checkpoint had been saved yet" in err and "intact" not in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (out / "model.npz").exists() and not (out / "best.npz").exists()


@pytest.mark.parametrize("lr, lower", [(1e6, 1e5), (2e-3, 2e-4), (0.7, 0.07), (3.3e-2, 3e-3),
                                       (9.6, 1.0)])
def test_the_suggested_learning_rate_is_a_round_tenth(lr, lower):
    from barenet.train.trainer import lower_rate

    assert lower_rate(lr) == pytest.approx(lower)


@pytest.mark.parametrize("lr, default, lower", [(1e308, 1e-3, 1e-3), (0.5, 1e-2, 1e-2),
                                                (0.05, 1e-2, 5e-3), (1e-3, 1e-3, 1e-4)])
def test_far_above_the_default_the_suggestion_is_the_default(lr, default, lower):
    """Item 21: `--lr 1e308` suggested `--lr 1e+307`."""
    from barenet.train.trainer import lower_rate

    assert lower_rate(lr, default) == pytest.approx(lower)


@pytest.mark.parametrize("override, fragment", [
    ({"augment.scale": [5e-324, 5e-324]}, "scale must be"),
    ({"augment.scale": [1.0, 50.0]}, "scale must be"),
    ({"optimizer.name": "sgd", "optimizer.momentum": 1.0}, "momentum must be"),
    ({"optimizer.name": "rmsprop", "optimizer.alpha": 1.0}, "alpha must be"),
    ({"optimizer.name": "rmsprop", "optimizer.momentum": 1.0}, "momentum must be"),
])
def test_settings_that_can_only_diverge_are_refused_before_training(tiny_config, override,
                                                                    fragment):
    """Item 21: these validated, then ended with advice to lower the learning rate."""
    with pytest.raises(BarenetError, match=fragment):
        configs.load(str(tiny_config), override)


def test_unwritable_output_is_reported_before_training(tiny_data, tiny_config, tmp_path,
                                                       capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(blocker / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write to the run folder" in err and "--out" in err


def test_missing_config_lists_shipped_ones(capsys):
    assert main(["train", "--config", "nonexistent"]) == 2
    err = capsys.readouterr().err
    assert "nonexistent" in err and "mlp" in err


def test_bad_config_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text(textwrap.dedent("""
        epochs = [
    """))
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not valid TOML" in err and err.count("\n") == 1


def test_train_without_a_validation_split_says_the_last_epoch_is_the_model(
        tiny_data, tiny_config, tmp_path, capsys):
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(tmp_path / "run"), "--set", "validation_size=0",
                 "--epochs", "2", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "no validation split | lr" in printed
    assert "(mnist, no validation split: the last epoch's model, epoch 2)" in printed


def test_keep_last_keeps_the_last_epochs_model_and_still_calibrates(tiny_data, tiny_config,
                                                                   tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(out), "--set", 'keep="last"', "--epochs", "3",
                 "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "(mnist, the last epoch's model (keep = \"last\"), epoch 3)" in printed
    best, last = (barenet.load(out / name) for name in ("best.npz", "model.npz"))
    for name, array in last.state_dict().items():
        np.testing.assert_array_equal(best.state_dict()[name], array)
    history = json.loads((out / "history.json").read_text())
    assert best.metadata["metrics"]["val_accuracy"] == history["epochs"][-1]["val_acc"]
    assert "calibration" in best.metadata  # the validation split still calibrates
    for setting, problem in [('keep="middle"', 'keep = \'middle\' is invalid; expected "best"'),
                             ("early_stopping=2", "set early_stopping = 0 or keep")]:
        assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                     "--out", str(tmp_path / "refused"), "--set", 'keep="last"',
                     "--set", setting]) == 2
        err = capsys.readouterr().err
        assert problem in err and err.count("\n") == 1, err


@pytest.mark.parametrize("settings, views, words", [
    (["augment.flip=true"], {"mirror": True}, "its mirror image (`barenet evaluate --mirror`)"),
    (["augment.max_shift=1.0", "augment.flip=true"], {"shift": True, "mirror": True},
     "its four one-pixel shifts and the mirror images of all five "
     "(`barenet evaluate --shift --mirror`)"),
])
def test_a_model_trained_on_shifted_or_mirrored_images_is_also_tested_on_them(
        tiny_data, tiny_config, tmp_path, capsys, settings, views, words):
    out = tmp_path / "run"
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(out), *(f"--set={s}" for s in settings), "--epochs", "1",
                 "--no-plots"]) == 0
    printed = capsys.readouterr().out
    best = barenet.load(out / "best.npz")
    test = load_dataset("mnist", tiny_data)
    logits = best.predict_logits(test.test_images, **views)
    averaged = float((logits.argmax(axis=1) == test.test_labels).mean())
    assert best.metadata["metrics"]["test_accuracy_tta"] == pytest.approx(averaged)
    assert ("test accuracy with test-time augmentation, each image's outputs averaged with "
            f"{words}: {averaged:.2%}") in printed


def test_a_model_trained_on_neither_is_tested_on_its_images_alone(tiny_data, tiny_config,
                                                                 tmp_path, capsys):
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(tmp_path / "plain"), "--epochs", "1", "--no-plots"]) == 0
    assert "test-time augmentation" not in capsys.readouterr().out


# -- the real thing, small --------------------------------------------------------------


def test_train_on_a_slice_of_real_mnist(tmp_path, capsys):
    """`barenet train` with the shipped mlp config on 3,000 real MNIST training digits."""
    data = tmp_path / "mnist-slice"
    dataset = write_mnist_slice(data, 3000, 1000)
    out = tmp_path / "run"
    assert main(["train", "--data-dir", str(data), "--out", str(out), "--epochs", "5",
                 "--set", "validation_size=500", "--no-plots"]) == 0
    accuracy = json.loads((out / "history.json").read_text())["test"]["accuracy"]
    assert accuracy > 0.85, accuracy  # chance is 0.10
    model = barenet.load(out / "best.npz")
    predicted = model.predict(dataset.test_images[:1000])  # raw uint8 digits
    assert (predicted == dataset.test_labels[:1000]).mean() == pytest.approx(accuracy)
    printed = capsys.readouterr().out
    assert f"test accuracy: {accuracy:.2%}" in printed
    # calibrated on the validation digits read as pictures, as `predict` reads them: the
    # temperature is stored and lowers the error there, and the bar flags 1% of right answers
    record = model.metadata["calibration"]
    assert record["fitted_on"] == "validation pictures" and record["pictures"] == 500
    assert record["temperature"] == model.temperature != 1.0
    assert record["val_ece_after"] < record["val_ece_before"]
    assert record["min_confidence"] == model.min_confidence
    assert 0 < record["right_flagged"] <= 0.02
    assert f"calibration: temperature {model.temperature:.3f}" in printed


@pytest.mark.parametrize("threads", ["-1", "100000", "²"])
def test_bad_thread_counts_are_refused(tiny_data, tiny_config, capsys, threads):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
              "--threads", threads])
    assert exit_.value.code == 2
    assert "--threads: expected a whole number from 0" in capsys.readouterr().err


def test_resume_refuses_flags_it_would_ignore(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--epochs", "20"]) == 2
    assert "drop --epochs" in capsys.readouterr().err


def test_layers_that_do_not_fit_are_refused_before_training(tiny_config):
    layers = [{"type": "Linear", "out_features": 4}, {"type": "GlobalAvgPool2d"},
              {"type": "Linear", "out_features": 10}]
    with pytest.raises(BarenetError, match=r"layer 2 \(GlobalAvgPool2d\): GlobalAvgPool2d needs "
                                           r"images \(C, H, W\) but receives shape \(4,\)"):
        configs.load(str(tiny_config), {"model.layers": layers})
    for shape, layers, message in [
        ([784], [{"type": "BatchNorm2d"}, {"type": "Linear", "out_features": 2}],
         "BatchNorm2d needs images"),
        ([1, 28, 28], [{"type": "BatchNorm1d"}, {"type": "Flatten"},
                       {"type": "Linear", "out_features": 2}], "BatchNorm1d needs features"),
        ([784], [{"type": "MaxPool2d", "kernel_size": 2, "padding": 2}], "at most half"),
        ([784], [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3}], "needs images"),
    ]:
        with pytest.raises(BarenetError, match=message):
            configs.validate({"model": {"input_shape": shape, "layers": layers}})


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    from barenet.io.files import write_text

    write_text(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_config_strings_with_newlines_round_trip(tiny_config, tmp_path):
    config = configs.load(str(tiny_config), {"name": 'two\nlines "quoted"'})
    again = tmp_path / "again.toml"
    again.write_text(configs.dumps(config))
    assert configs.load(str(again)).name == 'two\nlines "quoted"'


@pytest.mark.parametrize("name, expected", [("../../etc", "etc"), ("/tmp/x", "tmp-x"),
                                            ("mlp", "mlp"), ("a b/c", "a-b-c"), ("...", "run")])
def test_a_config_name_becomes_one_safe_folder_name(name, expected):
    from barenet.train.runs import RunFolder, safe_name

    assert safe_name(name) == expected
    run = RunFolder.create(name)
    assert run.path.parent.name == "runs" and run.path.name.startswith(f"{expected}-")
    assert len(safe_name("x" * 1000)) == 80


def test_an_out_folder_name_too_long_is_one_line(tiny_data, tiny_config, tmp_path, capsys):
    out = tmp_path / ("x" * 300)
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(out), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert "choose another --out" in err and err.count("\n") == 1 and "Traceback" not in err


def test_temporary_files_left_by_a_killed_run_are_removed_on_the_next_start(tmp_path):
    import os
    import time

    from barenet.train.runs import RunFolder

    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    stale = run.path / ".checkpoint.npz.abc123.tmp"
    fresh = run.path / ".best.npz.def456.tmp"  # another process may be writing this one
    other = run.path / ".notes.txt.x.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"x" * 100)
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    run.preflight(1000)
    assert not stale.exists() and fresh.exists() and other.exists()


@pytest.mark.parametrize("shape", [[392], [1, 14, 14], [2, 28, 28]])
def test_an_input_shape_that_does_not_hold_one_image_is_refused_before_training(
        tiny_data, tiny_config, tmp_path, capsys, shape):
    out = tmp_path / "run"
    layers = "[{type = 'Flatten'}, {type = 'Linear', out_features = 10}]"
    code = main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(out), "--set", f"model.input_shape={shape}",
                 "--set", f"model.layers={layers}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "but the images are 28x28 (784 values); use [784] or [1, 28, 28]" in err
    assert not out.exists()


def test_a_config_can_leave_the_plots_to_barenet_report(tiny_data, tiny_config, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(out), "--set", "plots=false"]) == 0
    assert (out / "best.npz").is_file() and not (out / "plots").exists()
    assert "plots:" not in capsys.readouterr().out
    assert main(["report", str(out), "--data-dir", str(tiny_data)]) == 0
    assert (out / "plots" / "confusion.png").is_file()


def test_the_thread_count_does_not_change_the_trained_weights(tiny_data, tiny_config,
                                                              tmp_path, monkeypatch):
    from barenet.nn.kernels import parallel

    monkeypatch.setattr(parallel, "MIN_VALUES", 0)  # split even this tiny model's work
    monkeypatch.setattr(parallel, "SMALL_PRODUCT", 0)
    monkeypatch.setattr(parallel, "BLOCK", 16)
    layers = ("[{type = 'Conv2d', out_channels = 4, kernel_size = 3, padding = 1}, "
              "{type = 'BatchNorm2d'}, {type = 'MaxPool2d', kernel_size = 2}, "
              "{type = 'ReLU'}, {type = 'Flatten'}, {type = 'Linear', out_features = 10}]")
    weights = []
    for threads in (1, 3):
        out = tmp_path / f"run{threads}"
        assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                     "--out", str(out), "--no-plots", "--threads", str(threads),
                     "--set", "model.input_shape=[1, 28, 28]",
                     "--set", f"model.layers={layers}"]) == 0
        weights.append(barenet.load(out / "model.npz").state_dict())
    for name, array in weights[0].items():
        np.testing.assert_array_equal(array, weights[1][name], err_msg=name)


def test_train_says_what_it_does_before_making_the_non_digits(tiny_data, tiny_config, tmp_path,
                                                              capsys):
    """Issue 33, item 5: `barenet train` printed nothing for its first 17-25 s."""
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(tmp_path / "run"), "--no-plots",
                 "--set", "non_digits=0.25"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == ('making 85 pictures of no digit, so the model can say "not sure" '
                     '(non_digits = 0.25)...')
