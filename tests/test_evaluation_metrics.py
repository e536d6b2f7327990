"""Metrics against hand-computed cases and a brute-force loop; the text tables."""

import numpy as np
import pytest

from barenet.errors import BarenetError
from barenet.evaluation.metrics import (
    ClassMetrics,
    accuracy,
    class_metrics,
    confusion_matrix,
    format_classification_report,
    format_confusion_matrix,
)

# 3 classes, 6 samples: class 0 half right, class 1 all right, class 2 half right.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 0, 2])


def test_confusion_matrix_by_hand():
    expected = [[1, 1, 0],
                [0, 2, 0],
                [1, 0, 1]]
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, 3), expected)


def test_per_class_metrics_by_hand():
    m = class_metrics(Y_TRUE, Y_PRED, 3)
    # precision = hits / predicted as k: 1/2, 2/3, 1/1; recall = hits / true k: 1/2, 2/2, 1/2
    np.testing.assert_allclose(m.precision, [1 / 2, 2 / 3, 1])
    np.testing.assert_allclose(m.recall, [1 / 2, 1, 1 / 2])
    np.testing.assert_allclose(m.f1, [1 / 2, 0.8, 2 / 3])
    np.testing.assert_array_equal(m.support, [2, 2, 2])
    assert m.macro_precision == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m.macro_recall == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert m.macro_f1 == pytest.approx((1 / 2 + 0.8 + 2 / 3) / 3)


def test_accuracy_by_hand():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    assert accuracy(np.array([], int), np.array([], int)) == 0.0


def test_class_never_predicted_nor_present_scores_zero_not_nan():
    m = class_metrics(np.array([0, 0, 1]), np.array([0, 1, 1]), 3)
    assert m.precision[2] == m.recall[2] == m.f1[2] == 0.0
    assert m.support[2] == 0
    assert np.all(np.isfinite([m.macro_precision, m.macro_recall, m.macro_f1]))


def test_against_a_brute_force_loop(rng):
    k, n = 7, 500
    y_true = rng.integers(0, k, n)
    # mostly right, so that precision and recall are far from 0 and 1
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, k, n))
    matrix = np.zeros((k, k), dtype=int)
    for t, p in zip(y_true, y_pred, strict=True):
        matrix[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, k), matrix)

    m = class_metrics(y_true, y_pred, k)
    for c in range(k):
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != c and p == c)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p != c)
        precision, recall = tp / (tp + fp), tp / (tp + fn)
        assert m.precision[c] == pytest.approx(precision)
        assert m.recall[c] == pytest.approx(recall)
        assert m.f1[c] == pytest.approx(2 * precision * recall / (precision + recall))
        assert m.support[c] == tp + fn
    assert accuracy(y_true, y_pred) == pytest.approx(np.trace(matrix) / n)


@pytest.mark.parametrize("y_true, y_pred, match", [
    (np.array([0, 3]), np.array([0, 1]), "outside"),
    (np.array([0, -1]), np.array([0, 1]), "outside"),
    (np.array([0, 1, 2]), np.array([0, 1]), "length"),
    (np.array([0.0, 1.0]), np.array([0, 1]), "integer"),
    (np.array([[0, 1]]), np.array([[0, 1]]), "1-D"),
])
def test_bad_labels_raise_one_line_errors(y_true, y_pred, match):
    with pytest.raises(BarenetError, match=match) as info:
        confusion_matrix(y_true, y_pred, 3)
    assert "\n" not in str(info.value)


def test_from_confusion_rejects_a_non_square_matrix():
    with pytest.raises(BarenetError, match="square"):
        ClassMetrics.from_confusion(np.zeros((2, 3), int))


def test_classification_report_table():
    names = ["zero", "one", "T-shirt/top"]
    text = format_classification_report(confusion_matrix(Y_TRUE, Y_PRED, 3), names)
    lines = text.splitlines()
    assert lines[0].split() == ["class", "precision", "recall", "f1", "support"]
    rows = {line.split()[1]: line.split()[2:] for line in lines if line[:1].isdigit()}
    assert rows["zero"] == ["0.5000", "0.5000", "0.5000", "2"]
    assert rows["one"] == ["0.6667", "1.0000", "0.8000", "2"]
    assert rows["T-shirt/top"] == ["1.0000", "0.5000", "0.6667", "2"]
    assert next(line for line in lines if line.startswith("accuracy")).split()[1:] == \
        ["0.6667", "6"]
    assert next(line for line in lines if line.startswith("macro avg")).split()[2:] == \
        ["0.7222", "0.6667", "0.6556", "6"]


def test_confusion_table_is_aligned_and_round_trips():
    names = ["T-shirt/top", "Trouser", "Ankle boot"]
    matrix = np.array([[950, 2, 48], [3, 997, 0], [10, 0, 990]])
    lines = format_confusion_matrix(matrix, names).splitlines()
    assert lines[0].split()[-3:] == ["0", "1", "2"]
    assert len({len(line) for line in lines}) == 1  # right-aligned counts: same width
    for k, (name, line) in enumerate(zip(names, lines[1:], strict=True)):
        assert line.startswith(f"{k} {name}")
        counts = [int(v) for v in line[len(f"{k} {name}"):].split()]
        assert counts == list(matrix[k])


def test_tables_check_the_number_of_names():
    with pytest.raises(BarenetError, match="2 class names given for 3 classes"):
        format_confusion_matrix(np.eye(3, dtype=int), ["a", "b"])


def test_digit_names_are_not_repeated_after_their_index():
    lines = format_confusion_matrix(np.eye(10, dtype=int), [str(d) for d in range(10)])
    assert [line.split()[0] for line in lines.splitlines()[1:]] == [str(d) for d in range(10)]
    assert lines.splitlines()[3].split() == ["2", "0", "0", "1"] + ["0"] * 7
