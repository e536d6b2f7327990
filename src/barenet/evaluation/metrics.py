"""Classification metrics and their text tables, in plain NumPy.

Everything derives from the confusion matrix ``C`` (rows: true class,
columns: predicted class): accuracy is ``trace(C) / sum(C)``, the precision
of class ``k`` is ``C[k, k] / sum(C[:, k])``, its recall ``C[k, k] / sum(C[k, :])``
and its F1 the harmonic mean of the two. A ratio whose denominator is zero
(a class never predicted, or absent from the labels) is reported as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import BarenetError


def _labels(values: np.ndarray, name: str, num_classes: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or not (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        raise BarenetError(f"{name} must be a 1-D array of integer class indices, "
                           f"got shape {array.shape} and dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise BarenetError(f"{name} holds class indices outside [0, {num_classes - 1}] "
                           f"(min {array.min()}, max {array.max()}); the labels do not "
                           f"match a {num_classes}-class model")
    return array.astype(np.int64)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of samples whose predicted class equals the true class.

    Parameters
    ----------
    y_true, y_pred : ndarray of int, shape (N,)

    Returns
    -------
    float
        In [0, 1]; 0.0 for an empty batch.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise BarenetError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}")
    return float(np.mean(y_true == y_pred)) if y_true.size else 0.0


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Count of samples of each true class (row) predicted as each class (column).

    Parameters
    ----------
    y_true, y_pred : ndarray of int, shape (N,)
        Class indices in ``[0, num_classes)``.
    num_classes : int
        K, the number of classes.

    Returns
    -------
    ndarray of int64, shape (K, K)
        ``C[i, j]`` is the number of samples of true class ``i`` predicted as ``j``.
    """
    if num_classes < 1:
        raise BarenetError(f"num_classes must be at least 1, got {num_classes}")
    y_true = _labels(y_true, "y_true", num_classes)
    y_pred = _labels(y_pred, "y_pred", num_classes)
    if y_true.shape != y_pred.shape:
        raise BarenetError(f"y_true and y_pred differ in length: {y_true.size} vs {y_pred.size}")
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ``numerator / denominator``, 0 where the denominator is 0."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


@dataclass(frozen=True)
class ClassMetrics:
    """Per-class precision, recall, F1 and support, computed from a confusion matrix.

    Attributes
    ----------
    precision, recall, f1 : ndarray of float64, shape (K,)
    support : ndarray of int64, shape (K,)
        Number of true samples of each class.
    """

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray

    @classmethod
    def from_confusion(cls, matrix: np.ndarray) -> ClassMetrics:
        """Metrics of a (K, K) confusion matrix (rows true, columns predicted)."""
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise BarenetError(f"a confusion matrix must be square, got shape {matrix.shape}")
        hits = np.diag(matrix).astype(np.float64)
        precision = _ratio(hits, matrix.sum(axis=0))
        recall = _ratio(hits, matrix.sum(axis=1))
        f1 = _ratio(2 * precision * recall, precision + recall)
        return cls(precision, recall, f1, matrix.sum(axis=1).astype(np.int64))

    @property
    def macro_precision(self) -> float:
        """Unweighted mean of the per-class precisions."""
        return float(self.precision.mean())

    @property
    def macro_recall(self) -> float:
        """Unweighted mean of the per-class recalls."""
        return float(self.recall.mean())

    @property
    def macro_f1(self) -> float:
        """Unweighted mean of the per-class F1 scores."""
        return float(self.f1.mean())


def class_metrics(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> ClassMetrics:
    """Per-class precision, recall, F1 and support of predictions ``y_pred``.

    Parameters
    ----------
    y_true, y_pred : ndarray of int, shape (N,)
    num_classes : int

    Returns
    -------
    ClassMetrics
        Arrays of shape (K,) plus macro averages.
    """
    return ClassMetrics.from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def _row_labels(class_names: Sequence[str], num_classes: int) -> list[str]:
    """``"<index> <name>"`` per class, or just the name when it is the index (MNIST's digits)."""
    names = [str(n) for n in class_names]
    if len(names) != num_classes:
        raise BarenetError(f"{len(names)} class names given for {num_classes} classes")
    return [name if name == str(k) else f"{k} {name}" for k, name in enumerate(names)]


def _align(rows: list[list[str]], left_columns: int = 1) -> str:
    """Join cells into lines: the first ``left_columns`` left-aligned, the rest right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(w) if i < left_columns else cell.rjust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_classification_report(matrix: np.ndarray, class_names: Sequence[str]) -> str:
    """Table of precision, recall, F1 and support per class, then the macro average.

    Parameters
    ----------
    matrix : ndarray of int, shape (K, K)
        Confusion matrix, rows true and columns predicted.
    class_names : sequence of str, length K

    Returns
    -------
    str
        Aligned lines, one per class, a rule, the macro average and the accuracy.
    """
    m = ClassMetrics.from_confusion(matrix)
    rows = [["class", "precision", "recall", "f1", "support"]]
    for k, label in enumerate(_row_labels(class_names, len(m.support))):
        rows.append([label, f"{m.precision[k]:.4f}", f"{m.recall[k]:.4f}",
                     f"{m.f1[k]:.4f}", str(m.support[k])])
    total = int(m.support.sum())
    correct = int(np.trace(np.asarray(matrix)))
    rows.append(["macro avg", f"{m.macro_precision:.4f}", f"{m.macro_recall:.4f}",
                 f"{m.macro_f1:.4f}", str(total)])
    rows.append(["accuracy", "", "", f"{correct / total if total else 0.0:.4f}", str(total)])
    lines = _align(rows).split("\n")
    rule = "-" * max(len(line) for line in lines)
    return "\n".join([lines[0], rule, *lines[1:-2], rule, *lines[-2:]])


def format_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str]) -> str:
    """The confusion matrix as an aligned text table.

    Rows are labelled ``"<index> <name>"`` (the true class; just the name when
    it is the index, as for digits); columns carry only the class index (the
    predicted class), so long names such as ``"T-shirt/top"`` do not widen
    every column.

    Parameters
    ----------
    matrix : ndarray of int, shape (K, K)
        Rows true, columns predicted.
    class_names : sequence of str, length K

    Returns
    -------
    str
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise BarenetError(f"a confusion matrix must be square, got shape {matrix.shape}")
    labels = _row_labels(class_names, matrix.shape[0])
    rows = [["true \\ predicted", *(str(k) for k in range(len(labels)))]]
    rows += [[label, *(str(int(v)) for v in counts)]
             for label, counts in zip(labels, matrix, strict=True)]
    return _align(rows)
