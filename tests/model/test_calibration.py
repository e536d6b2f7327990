"""Temperature scaling, the calibration error, the stored temperature, and "not sure"."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from barenet import BarenetError, Sequential, load
from barenet.model.calibration import (
    MAX_FLAGGED_RIGHT,
    MAX_WRONG_UNFLAGGED,
    TEMPERATURE_RANGE,
    expected_calibration_error,
    fit_bar,
    fit_min_confidence,
    fit_temperature,
    is_unsure,
    nll,
    reliability,
)
from barenet.model.card import Card
from barenet.nn.functional import softmax
from barenet.nn.layers import Linear, Softmax


def overconfident(rng: np.random.Generator, n: int = 4000, true_t: float = 2.5):
    """Logits whose labels were drawn from softmax(z / true_t): the best T is true_t."""
    z = rng.normal(0, 3, (n, 10))
    p = softmax(z / true_t)
    labels = np.array([rng.choice(10, p=row) for row in p])
    return z, labels


def test_fitted_temperature_recovers_the_one_the_labels_came_from(rng):
    z, labels = overconfident(rng)
    t = fit_temperature(z, labels)
    assert t == pytest.approx(2.5, rel=0.08)
    grid = np.exp(np.linspace(np.log(0.5), np.log(10), 400))  # a plain grid search agrees
    best = grid[np.argmin([nll(z, labels, g) for g in grid])]
    assert t == pytest.approx(best, rel=0.01)
    assert nll(z, labels, t) <= min(nll(z, labels, g) for g in grid) + 1e-9


def test_temperature_scaling_never_changes_the_answer(rng):
    z, labels = overconfident(rng)
    t = fit_temperature(z, labels)
    assert (softmax(z / t).argmax(1) == z.argmax(1)).all()
    assert expected_calibration_error(softmax(z / t), labels) < \
        expected_calibration_error(softmax(z), labels) / 3


def test_no_data_is_no_change():
    assert fit_temperature(np.zeros((0, 10)), np.zeros(0, int)) == 1.0


def test_calibration_error_of_known_cases():
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    labels = np.array([0, 0, 0, 1])
    # bin of 0.9: accuracy 1, gap 0.1; bin of 0.6: accuracy 0.5, gap 0.1
    assert expected_calibration_error(p, labels, bins=10) == pytest.approx(0.1)
    confidence, accuracy, counts = reliability(p, labels, bins=10)
    assert counts.sum() == 4 and counts[8] == 2 and counts[5] == 2
    assert accuracy[8] == 1.0 and confidence[5] == pytest.approx(0.6)
    assert np.isnan(accuracy[0])
    perfect = np.eye(3)[[0, 1, 2]]
    assert expected_calibration_error(perfect, np.array([0, 1, 2])) == 0.0


def test_unsure_is_a_low_calibrated_top_probability():
    p = np.array([[0.41, 0.38, 0.21], [0.9, 0.05, 0.05]])
    assert is_unsure(p).tolist() == [True, False]


def _linear_model(**metadata) -> Sequential:
    return Sequential([Linear(4, 3, rng=0)], metadata=metadata)


def test_predict_proba_applies_the_stored_temperature(rng):
    x = rng.random((5, 4)).astype(np.float32)
    plain = _linear_model()
    hot = _linear_model(calibration={"temperature": 2.0})
    logits = plain.predict_logits(x)
    np.testing.assert_allclose(plain.predict_proba(x), softmax(logits), rtol=1e-6)
    np.testing.assert_allclose(hot.predict_proba(x), softmax(logits / 2), rtol=1e-6)
    np.testing.assert_allclose(hot.probabilities(logits, calibrated=False), softmax(logits),
                               rtol=1e-6)
    ends_in_softmax = Sequential([Linear(4, 3, rng=0), Softmax()],
                                 metadata={"calibration": {"temperature": 2.0}})
    np.testing.assert_allclose(ends_in_softmax.predict_proba(x), softmax(logits), rtol=1e-6)


def test_temperature_round_trips_and_old_files_still_load(tmp_path):
    path = tmp_path / "m.npz"
    _linear_model(calibration={"temperature": 0.5}).save(path)
    assert load(path).temperature == 0.5
    _linear_model().save(path)
    assert load(path).temperature == 1.0 and "calibration" not in load(path).metadata


@pytest.mark.parametrize("record", [{"temperature": 0}, {"temperature": -1},
                                    {"temperature": 1e9}, {"temperature": "1"},
                                    {"temperature": True}, {"t": 1.0}, [1.0], 2.0,
                                    {"temperature": TEMPERATURE_RANGE[1] * 1.01}])
def test_a_bad_stored_temperature_is_refused_at_load(tmp_path, record):
    path = tmp_path / "m.npz"
    _linear_model().save(path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    header = np.lib.format.read_array(io.BytesIO(members["__barenet__.npy"]))
    data = json.loads(header.tobytes())
    data["metadata"]["calibration"] = record
    raw = np.frombuffer(json.dumps(data).encode(), np.uint8)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, raw)
    members["__barenet__.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    with pytest.raises(BarenetError, match="calibration") as err:
        load(path)
    assert "\n" not in str(err.value)
    with pytest.raises(BarenetError):
        Card.read({"calibration": record}, "float32")


def test_the_not_sure_bar_flags_one_percent_of_right_validation_answers(rng):
    z, labels = overconfident(rng, n=5000, true_t=1.0)
    p = softmax(z)
    bar = fit_min_confidence(p, labels)
    right = p.argmax(1) == labels
    flagged = (p.max(1) < bar)[right].mean()
    assert flagged == pytest.approx(0.01, abs=0.003)
    assert 0.3 <= bar <= 0.99
    assert fit_min_confidence(p, (p.argmax(1) + 1) % 10) == 0.5  # no right answer to measure


def test_the_bar_rises_until_few_crops_of_pages_are_wrong_and_unflagged(rng):
    z, labels = overconfident(rng, n=5000, true_t=1.0)
    p = softmax(z)
    alone = fit_bar(p, labels)
    assert alone == fit_min_confidence(p, labels)  # without pages, as before
    # crops of pages: 30% of them read wrong, and confidently
    pages = np.full((1000, 10), 0.01)
    page_labels = np.arange(1000) % 10
    pages[np.arange(1000), page_labels] = 0.91
    wrong = np.arange(300)
    pages[wrong] = 0.01
    pages[wrong, (page_labels[wrong] + 1) % 10] = np.linspace(0.5, 0.9, 300)
    page_labels[:20] = -1  # crops of something else: every answer is wrong
    bar = fit_bar(p, labels, pages, page_labels)
    right = p.argmax(1) == labels
    flagged_right = (p.max(1) < bar)[right].mean()
    unflagged_wrong = ((pages.argmax(1) != page_labels) & (pages.max(1) >= bar)).mean()
    cap = fit_min_confidence(p, labels, MAX_FLAGGED_RIGHT)
    # raised as far as the digits allow: either the pages' target is met, or the cap holds
    assert alone < bar <= cap
    assert unflagged_wrong <= MAX_WRONG_UNFLAGGED or bar == cap
    assert flagged_right <= MAX_FLAGGED_RIGHT + 0.003
    # pages read right need no higher bar than the digits' own
    pages_right = np.full((50, 10), 0.01)
    pages_right[np.arange(50), np.arange(50) % 10] = 0.91
    assert fit_bar(p, labels, pages_right, np.arange(50) % 10) == alone


def test_a_high_cap_gives_the_pages_their_target():
    p = np.full((1000, 10), 0.001)
    labels = np.arange(1000) % 10
    p[np.arange(1000), labels] = np.where(np.arange(1000) < 15, 0.4, 0.99)  # right; 15 unsure
    pages = np.full((100, 10), 0.01)
    pages[np.arange(100), 0] = np.linspace(0.3, 0.9, 100)  # all read 0
    page_labels = np.where(np.arange(100) < 60, 0, 1)  # 40 of them wrong
    bar = fit_bar(p, labels, pages, page_labels)
    unflagged_wrong = ((pages.argmax(1) != page_labels) & (pages.max(1) >= bar)).mean()
    assert unflagged_wrong == pytest.approx(MAX_WRONG_UNFLAGGED)  # 5 of 100 left
    assert ((pages.argmax(1) != page_labels) & (pages.max(1) >= np.nextafter(bar, 0))).mean() \
        > MAX_WRONG_UNFLAGGED  # and the bar is the lowest that does it


def test_a_stored_bar_is_used_and_checked():
    assert Card.read({}, "float32").min_confidence == 0.5
    record = {"calibration": {"temperature": 1.0, "min_confidence": 0.9}}
    assert Card.read(record, "float32").min_confidence == 0.9
    for bad in (1.5, -0.1, "0.9", True):
        with pytest.raises(BarenetError, match="min_confidence"):
            Card.read({"calibration": {"temperature": 1.0, "min_confidence": bad}}, "float32")


def test_several_characters_side_by_side_are_not_sure():
    p = np.array([[0.99] + [0.001] * 9] * 3)
    assert is_unsure(p, 0.5, np.array([0.6, 1.8, 3.0])).tolist() == [False, False, True]
