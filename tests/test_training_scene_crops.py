"""Scene crops: what the reader extracts from generated pages, and how training mixes it in.

The digits are drawn shapes, not MNIST, one shape per split, so that which split a crop's
digit came from can be read from its label: bars (1) and rings (0) in the training part,
crosses (7) in the validation part, boxes (5) in the test split.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import barenet as bn
from barenet.data import Dataset, load_dataset, prepare
from barenet.data.non_digits import per_batch
from barenet.data.scenes import make_scene
from barenet.nn.losses.cross_entropy import NO_CLASS
from barenet.train import scene_crops as module
from barenet.train.config import load, validate
from barenet.train.scene_crops import MIN_HELD, SceneCrops, scene_crops
from barenet.train.session import Session, new_model, train_from_config
from barenet.vision import EmptyDrawingError, extract
from barenet.vision.ink_finder import InkFinder

TRAIN, VALIDATION = 12, 6
#: Small pages: quick to make and to read.
SMALL = {"size": 40}


def drawn(kind: str) -> np.ndarray:
    """A 28x28 uint8 picture, bright ink on black."""
    image = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(image)
    if kind == "bar":
        draw.line([(14, 4), (14, 23)], fill=255, width=3)
    elif kind == "ring":
        draw.ellipse([(6, 4), (22, 23)], outline=255, width=3)
    elif kind == "cross":
        draw.line([(6, 6), (22, 22)], fill=255, width=3)
        draw.line([(6, 22), (22, 6)], fill=255, width=3)
    else:
        draw.rectangle([(6, 6), (22, 22)], outline=255, width=3)
    return np.asarray(image)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    train = [drawn(k) for k in ("bar", "ring") * (TRAIN // 2)] + [drawn("cross")] * VALIDATION
    labels = [1, 0] * (TRAIN // 2) + [7] * VALIDATION
    return Dataset("mnist", np.stack(train), np.array(labels, np.uint8),
                   np.stack([drawn("box")] * 4), np.full(4, 5, np.uint8),
                   tuple(str(k) for k in range(10)), Path("."))


def test_crops_come_from_the_training_part_only(dataset):
    crops = scene_crops(dataset, 12, seed=3, validation_size=VALIDATION, workers=1,
                        **SMALL)
    assert crops.glyphs.shape == (len(crops), 28, 28) and crops.glyphs.dtype == np.uint8
    assert set(crops.labels.tolist()) <= {0, 1} and len(crops) + crops.skipped == 12
    assert crops.held.shape == (len(crops),) and ((0 <= crops.held) & (crops.held <= 1)).all()
    held_out = scene_crops(dataset, 6, seed=3, validation_size=VALIDATION, validation=True,
                           workers=1, **SMALL)
    assert set(held_out.labels.tolist()) == {7}
    with pytest.raises(TypeError, match="training split only"):
        scene_crops((dataset.train_images, dataset.train_labels), 2, seed=0, workers=1)


def test_each_crop_is_what_predict_extracts_from_its_page_with_its_label(dataset):
    crops = scene_crops(dataset, 8, seed=11, validation_size=VALIDATION, workers=1,
                        **SMALL)
    digits, labels = dataset.train_images[:TRAIN], dataset.train_labels[:TRAIN]
    expected = []
    for i in range(8):
        page = make_scene(digits, labels, np.random.default_rng([11, i]), **SMALL)
        assert page.picture.dtype == np.uint8 and page.picture.shape[2] == 3  # RGB, as read
        try:
            found = extract(page.picture)
        except EmptyDrawingError:
            continue
        top, bottom, left, right = found.box
        held = page.digit_mask[top:bottom, left:right].sum() / page.digit_mask.sum()
        expected.append((np.round(found.glyph * 255).astype(np.uint8), page.label, held))
    assert len(crops) == len(expected)
    for n, (glyph, label, held) in enumerate(expected):
        np.testing.assert_array_equal(crops.glyphs[n], glyph)
        assert crops.labels[n] == label
        assert crops.held[n] == pytest.approx(held, rel=1e-5)


def test_with_a_finder_each_crop_is_what_extract_takes_through_it(dataset, monkeypatch):
    finder = InkFinder(4, seed=0, threshold=0.0)  # tiny, untrained: marks every cell
    crops = scene_crops(dataset, 6, seed=11, validation_size=VALIDATION, workers=1,
                        finder=finder, **SMALL)
    digits, labels = dataset.train_images[:TRAIN], dataset.train_labels[:TRAIN]
    expected = []
    for i in range(6):
        page = make_scene(digits, labels, np.random.default_rng([11, i]), **SMALL)
        try:
            found = extract(page.picture, finder=finder)
        except EmptyDrawingError:
            continue
        expected.append(np.round(found.glyph * 255).astype(np.uint8))
    assert len(crops) == len(expected) > 0
    np.testing.assert_array_equal(crops.glyphs, np.stack(expected))
    # the finder reaches extract, in this process and in the workers; without one, extract
    # is called as before (the picture alone)
    seen = []
    monkeypatch.setattr(module, "extract",
                        lambda picture, **kw: seen.append(kw) or extract(picture, **kw))
    scene_crops(dataset, 2, seed=11, validation_size=VALIDATION, workers=1, **SMALL)
    assert seen == [{}, {}]
    scene_crops(dataset, 2, seed=11, validation_size=VALIDATION, workers=1, finder=finder,
                **SMALL)
    assert seen[2:] == [{"finder": finder}] * 2
    monkeypatch.setattr(module, "TASK", 2)
    two = scene_crops(dataset, 6, seed=11, validation_size=VALIDATION, workers=2,
                      finder=finder, **SMALL)
    np.testing.assert_array_equal(two.glyphs, crops.glyphs)


def test_pages_without_ink_found_are_skipped_and_counted(dataset, monkeypatch):
    calls, blank = [], []

    def every_third_blank(picture):
        calls.append(1)
        if len(calls) % 3 == 0:
            blank.append(1)
            raise EmptyDrawingError("the picture is nearly blank")
        try:
            return extract(picture)
        except EmptyDrawingError:
            blank.append(1)
            raise

    monkeypatch.setattr(module, "extract", every_third_blank)
    crops = scene_crops(dataset, 9, seed=2, validation_size=VALIDATION, workers=1,
                        **SMALL)
    assert len(calls) == 9 and crops.scenes == 9 and len(blank) >= 3
    assert crops.skipped == len(blank) and len(crops) == 9 - len(blank)
    assert crops.seconds > 0 and crops.seconds_per_crop == crops.seconds / 9


def test_the_same_seed_gives_the_same_crops_however_many_workers(dataset, monkeypatch):
    monkeypatch.setattr(module, "TASK", 2)  # three tasks for two worker processes
    one = scene_crops(dataset, 6, seed=4, validation_size=VALIDATION, workers=1,
                        **SMALL)
    two = scene_crops(dataset, 6, seed=4, validation_size=VALIDATION, workers=2,
                        **SMALL)
    for a, b in ((one.glyphs, two.glyphs), (one.labels, two.labels), (one.held, two.held)):
        np.testing.assert_array_equal(a, b)
    assert one.skipped == two.skipped
    other = scene_crops(dataset, 6, seed=5, validation_size=VALIDATION, workers=1,
                        **SMALL)
    assert not np.array_equal(one.glyphs[:len(other)], other.glyphs[:len(one)])


def test_a_crop_of_something_else_is_trained_as_no_digit():
    crops = SceneCrops(np.zeros((3, 28, 28), np.uint8), np.array([4, 5, 6]),
                       np.array([1.0, MIN_HELD, MIN_HELD - 0.01], np.float32), 3, 0, 1.0)
    np.testing.assert_array_equal(crops.targets, [4, 5, NO_CLASS])


def marked_crops(count: int) -> SceneCrops:
    """Crops anyone can tell from the digits: every pixel 255; a third of them held too
    little of the digit (no digit), the rest labelled 3."""
    held = np.where(np.arange(count) % 3 == 0, 0.1, 0.9).astype(np.float32)
    return SceneCrops(np.full((count, 28, 28), 255, np.uint8), np.full(count, 3), held,
                      count, 0, 1.0)


def test_the_trainer_mixes_the_share_of_crops_into_every_batch(tiny_data, tiny_config):
    data = prepare(load_dataset("mnist", data_dir=tiny_data), val_size=60, standardize=True)
    config = load(str(tiny_config), {"scene_crops": 0.5, "non_digits": 0.25, "epochs": 1})
    trainer = Session(config, data, new_model(config), scene_crops=marked_crops(30)).trainer
    seen = []
    step = trainer.train_batch

    def recorded(x, y):
        seen.append((x.copy(), y.copy()))
        return step(x, y)

    trainer.train_batch = recorded
    trainer.fit(lambda line: None)
    assert len(seen) == len(trainer.batches)
    full = float(trainer.mix.scene_crops.max())  # a pixel of 255, standardised as the digits
    drawn = []
    for x, y in seen:
        digits = int(np.argmax(y == NO_CLASS))  # the digits, the non-digits, the crops
        crops = per_batch(digits, 0.5)
        assert len(y) == digits + per_batch(digits, 0.25) + crops and crops > 0
        assert set(y[-crops:].tolist()) <= {3, NO_CLASS}
        assert (x.reshape(len(y), -1)[-crops:] == full).all()
        drawn += y[-crops:].tolist()
    # a third of the pool held too little of its digit: trained as no digit
    assert 0.2 < drawn.count(NO_CLASS) / len(drawn) < 0.45
    assert trainer.state.history[0]["train_acc"] <= 1


def test_a_share_without_crops_is_refused(tiny_data, tiny_config):
    data = prepare(load_dataset("mnist", data_dir=tiny_data), val_size=60)
    config = load(str(tiny_config), {"scene_crops": 0.25})
    with pytest.raises(bn.BarenetError, match="needs the crops of generated pages"):
        Session(config, data, new_model(config))


def test_scene_crops_0_trains_exactly_as_before(tiny_data, tiny_config):
    """Off, the option changes nothing: no draw from any generator, the same weights; and
    the generators of the other parts are seeded as before it existed (the first four
    children of the seed's SeedSequence)."""
    data = prepare(load_dataset("mnist", data_dir=tiny_data), val_size=60, standardize=True)
    weights = []
    for crops in (None, marked_crops(30)):
        config = load(str(tiny_config), {"non_digits": 0.25, "scene_crops": 0})
        trainer = Session(config, data, new_model(config), scene_crops=crops).trainer
        assert trainer.mix.scene_crops is None and len(trainer.generators()) == 3
        weights.append(trainer.fit(lambda line: None).state_dict())
    for name, array in weights[0].items():
        np.testing.assert_array_equal(array, weights[1][name])
    before = np.random.SeedSequence(0).spawn(4)
    now = np.random.SeedSequence(0).spawn(5)[:4]
    assert [s.generate_state(4).tolist() for s in before] == \
        [s.generate_state(4).tolist() for s in now]


def test_config_checks_the_share_and_the_count(tiny_config):
    config = load(str(tiny_config))
    assert config.scene_crops == 0 and config.scene_count >= 1 and config.scene_finder == ""
    with pytest.raises(bn.BarenetError, match="scene_finder"):
        validate({**config.to_dict(), "scene_finder": "finder.npz"})  # scene_crops is 0
    assert validate({**config.to_dict(), "scene_crops": 0.2,
                     "scene_finder": "finder.npz"})["scene_finder"] == "finder.npz"
    for key, bad in (("scene_crops", -0.1), ("scene_crops", 1.5), ("scene_crops", "some"),
                     ("scene_count", 0), ("scene_count", 2.5), ("scene_finder", 3),
                     ("scene_finder", " finder.npz")):
        with pytest.raises(bn.BarenetError, match=key):
            validate({**config.to_dict(), key: bad})
    with pytest.raises(bn.BarenetError, match="fashion-mnist holds no digits"):
        validate({**config.to_dict(), "dataset": "fashion-mnist", "scene_crops": 0.2})


def test_train_makes_the_crops_and_says_how_many(tiny_data, tiny_config, tmp_path):
    config = load(str(tiny_config), {"scene_crops": 0.25, "scene_count": 3, "epochs": 1})
    lines = []
    result = train_from_config(config, tiny_data, tmp_path / "run", plots=False,
                               log=lines.append)
    assert any("crops of generated pages" in line for line in lines)
    assert any("pages of validation digits" in line for line in lines)
    calibration = bn.load(tmp_path / "run" / "best.npz").metadata["calibration"]
    assert calibration["fitted_on"] == "validation pictures" and calibration["pages"] >= 1
    assert 0 <= calibration["pages_wrong_not_flagged"] <= 1
    assert 0 <= result.test_accuracy <= 1
    assert "scene_crops = 0.25" in (tmp_path / "run" / "config.toml").read_text()


def test_train_makes_the_crops_through_the_finder_it_is_given(tiny_data, tiny_config,
                                                             tmp_path, monkeypatch):
    path = tmp_path / "finder.npz"
    InkFinder(4, seed=0, threshold=0.0).save(path)
    given = []
    made = module.scene_crops

    def recorded(*args, **kwargs):
        given.append(kwargs["finder"])
        return made(*args, **kwargs)

    monkeypatch.setattr(module, "scene_crops", recorded)
    config = load(str(tiny_config), {"scene_crops": 0.25, "scene_count": 3, "epochs": 1,
                                     "scene_finder": str(path)})
    lines = []
    train_from_config(config, tiny_data, tmp_path / "run", plots=False, log=lines.append)
    assert len(given) == 2  # the training pages and the calibration's
    assert all(isinstance(f, InkFinder) and f.width == 4 for f in given)
    assert any(f"with the ink finder {path}" in line for line in lines)
    with pytest.raises(bn.BarenetError, match="not an ink finder"):
        bad = load(str(tiny_config), {"scene_crops": 0.25, "scene_count": 3, "epochs": 1,
                                      "scene_finder": str(tmp_path / "run" / "best.npz")})
        train_from_config(bad, tiny_data, tmp_path / "run2", plots=False, log=lines.append)


def test_the_reader_config_is_the_cnn_with_scene_crops():
    reader, cnn = load("reader"), load("cnn")
    assert reader.scene_crops > 0 and cnn.scene_crops == 0
    assert {k: v for k, v in reader.to_dict().items() if k not in ("name", "scene_crops")} == \
        {k: v for k, v in cnn.to_dict().items() if k not in ("name", "scene_crops")}
