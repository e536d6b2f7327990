"""Generated non-digits (outlier exposure): what they are made of, and how training uses them."""

import numpy as np
import pytest

import barenet as bn
from barenet.data import load_dataset, prepare
from barenet.data.non_digits import KINDS, MIRROR_LR, MIRROR_UD, make_non_digits, per_batch
from barenet.train.config import load, validate


@pytest.fixture(scope="module")
def digits():
    """Forty synthetic 'digits': a bar of a different slant and length per class."""
    rng = np.random.default_rng(0)
    images = np.zeros((40, 28, 28), np.float32)
    labels = np.arange(40) % 10
    for n, y in enumerate(labels):
        rows = np.arange(4, 24)
        cols = np.clip(14 + (rows - 14) * (y - 5) / 10 + rng.normal(0, 0.3), 0, 26).astype(int)
        images[n, rows, cols] = images[n, rows, cols + 1] = 1.0
        images[n, 4:7, 8:8 + 2 * y] = 1.0
    return images, labels


def test_pictures_are_normalised_like_predicts_glyphs(digits):
    out = make_non_digits(*digits, 24, np.random.default_rng(1))
    assert out.shape == (24, 28, 28) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1
    for picture in out:
        rows = np.flatnonzero(picture.max(axis=1) > 0.05)
        cols = np.flatnonzero(picture.max(axis=0) > 0.05)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in range(19, 24)
        total = picture.sum()
        cy = (picture.sum(axis=1) @ np.arange(28)) / total
        cx = (picture.sum(axis=0) @ np.arange(28)) / total
        assert abs(cy - 14) < 1 and abs(cx - 14) < 1


def test_same_generator_same_pictures_and_each_holds_ink(digits):
    a = make_non_digits(*digits, 12, np.random.default_rng(5))
    b = make_non_digits(*digits, 12, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make_non_digits(*digits, 12, np.random.default_rng(6)))
    assert len(KINDS) == 5 and (a.max(axis=(1, 2)) > 0.9).all()  # none blank


def test_mirrored_classes_exclude_the_symmetric_digits():
    assert not {0, 1, 8} & set(MIRROR_LR) and not {0, 1, 3, 8} & set(MIRROR_UD)


def test_per_batch_rounds_the_fraction():
    assert per_batch(128, 0.25) == 32 and per_batch(64, 0.1) == 6 and per_batch(10, 0) == 0


def test_config_refuses_non_digits_outside_the_range_or_for_clothes(tiny_config):
    config = load(str(tiny_config))
    for bad in (-0.1, 0.6, "many"):
        with pytest.raises(bn.BarenetError, match="non_digits"):
            validate({**config.to_dict(), "non_digits": bad})
    with pytest.raises(bn.BarenetError, match="fashion-mnist holds no digits"):
        validate({**config.to_dict(), "dataset": "fashion-mnist", "non_digits": 0.2})


def test_training_with_non_digits_lowers_confidence_on_them(tiny_data, tiny_config):
    """The same run with and without outlier exposure: the pictures it trained on as no
    class get a flatter distribution, and the digits are still learnt."""
    from barenet.train.session import Session, new_model

    data = prepare(load_dataset("mnist", data_dir=tiny_data), val_size=60)
    confidence, accuracy = {}, {}
    for fraction in (0.0, 0.5):
        config = load(str(tiny_config), {"non_digits": fraction, "epochs": 4})
        model = Session(config, data, new_model(config)).train(lambda line: None)
        probe = make_non_digits(data.x_train, data.y_train, 50, np.random.default_rng(99))
        confidence[fraction] = model.predict_proba(probe).max(axis=1).mean()
        accuracy[fraction] = (model.predict(data.x_test) == data.y_test).mean()
    assert confidence[0.5] < confidence[0.0] - 0.1
    assert accuracy[0.5] > accuracy[0.0] - 0.1


def test_a_digit_config_trained_on_clothes_drops_its_non_digits(tiny_data, tiny_config,
                                                                  tmp_path, capsys):
    from barenet.cli.main import main

    config = tmp_path / "digits.toml"
    config.write_text(tiny_config.read_text().replace('name = "tiny"',
                                                      'name = "tiny"\nnon_digits = 0.25'))
    out = tmp_path / "run"
    assert main(["train", "--config", str(config), "--dataset", "fashion-mnist",
                 "--data-dir", str(tiny_data), "--out", str(out), "--no-plots"]) == 0
    assert "non_digits = 0: fashion-mnist holds no digits" in capsys.readouterr().out
    assert "non_digits = 0.0" in (out / "config.toml").read_text()
    # asked for explicitly, it is refused in one line
    assert main(["train", "--config", str(config), "--dataset", "fashion-mnist",
                 "--set", "non_digits=0.1", "--data-dir", str(tiny_data),
                 "--out", str(tmp_path / "refused"), "--no-plots"]) == 2
    assert "holds no digits, set non_digits = 0" in capsys.readouterr().err
