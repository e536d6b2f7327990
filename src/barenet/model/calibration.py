"""How sure the network is: temperature scaling, calibration error, and "not sure".

A network trained with cross-entropy is usually over-confident: of the answers
it gives at 99%, fewer than 99% are right. Temperature scaling (Guo et al.,
2017, "On Calibration of Modern Neural Networks") fixes that with one number
``T`` fitted on held-out data: the probabilities become ``softmax(z / T)`` for
logits ``z``. Dividing every logit by the same ``T > 0`` never changes which
class is largest, so accuracy is untouched; only the confidence moves.

- :func:`fit_temperature`: the ``T`` that minimises the mean negative
  log-likelihood of the validation labels (``barenet train`` fits it at the end
  of training and stores it in the model file as ``metadata["calibration"]``);
- :func:`expected_calibration_error` and :func:`reliability`: how far the
  confidence is from the accuracy, over bins of confidence;
- :func:`fit_min_confidence`, :func:`fit_bar` and :func:`is_unsure`: the rule that
  makes ``predict`` and the app answer "not sure", with the model's own bar fitted on
  what the reader sees of the validation split (docs/results.md gives the measurements).

What a model file stores of them is read by :class:`barenet.model.card.Card`.
"""

from __future__ import annotations

import math

import numpy as np

from ..nn.functional import log_softmax

#: A stored temperature must lie in this range: outside it the model file is damaged.
TEMPERATURE_RANGE = (0.05, 20.0)
#: Bins of confidence for the expected calibration error and the reliability diagram.
CALIBRATION_BINS = 15
#: "Not sure" when the calibrated probability of the top class is below the model's own
#: bar (:func:`fit_min_confidence`), or below this for a model file without one...
MIN_CONFIDENCE = 0.5
#: ...or when the ink is this many times wider than tall: several characters, not one
#: digit (MNIST's widest digits: 1.67 at the 99.9th percentile, 2.5 at most).
MAX_ASPECT = 1.9
#: The bar is set so that this fraction of the right answers on the validation split
#: fall below it: the price, in right answers called "not sure", of flagging the rest.
FLAGGED_RIGHT = 0.01
#: With crops of everyday pages to fit on (:func:`fit_bar`), the bar is raised until at
#: most this share of them is read wrong and not flagged...
MAX_WRONG_UNFLAGGED = 0.05
#: ...but never so far that more than this share of the right answers on the digits
#: themselves is called "not sure". Both are the reader's targets (issue 31).
MAX_FLAGGED_RIGHT = 0.02


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood ``-mean_n log softmax(z_n / T)[y_n]``."""
    logp = log_softmax(np.asarray(logits, dtype=np.float64) / temperature)
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, iterations: int = 60) -> float:
    """The temperature ``T`` minimising :func:`nll` on held-out logits.

    The NLL is convex in ``1 / T``, hence unimodal in ``log T``: a golden-section
    search over ``log T`` in :data:`TEMPERATURE_RANGE` finds the minimum to about
    ``1e-12`` relative after 60 steps.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
        Raw network outputs (before softmax) for N held-out samples.
    labels : ndarray of int, shape (N,)

    Returns
    -------
    float
        ``T``; 1.0 when there is nothing to fit on (N = 0).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return 1.0
    lo, hi = (math.log(t) for t in TEMPERATURE_RANGE)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, labels, math.exp(a)), nll(logits, labels, math.exp(b))
    for _ in range(iterations):
        if fa < fb:  # the minimum lies in [lo, b]
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, labels, math.exp(a))
        else:  # in [a, hi]
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, labels, math.exp(b))
    return math.exp((lo + hi) / 2)


def reliability(probabilities: np.ndarray, labels: np.ndarray,
                bins: int = CALIBRATION_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean confidence, accuracy and sample count in each of ``bins`` equal confidence bins.

    Parameters
    ----------
    probabilities : ndarray, shape (N, K)
    labels : ndarray of int, shape (N,)

    Returns
    -------
    confidence, accuracy : ndarray, shape (bins,)
        Mean top-class probability and fraction correct of the samples whose
        top-class probability falls in ``((b - 1) / bins, b / bins]``; NaN for an
        empty bin.
    counts : ndarray of int, shape (bins,)
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    top = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    which = np.clip(np.ceil(top * bins).astype(np.int64) - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(which, weights=top, minlength=bins) / counts
        accuracy = np.bincount(which, weights=correct, minlength=bins) / counts
    return confidence, accuracy, counts


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray,
                               bins: int = CALIBRATION_BINS) -> float:
    """``ECE = sum_b (n_b / N) |accuracy_b - confidence_b|`` over confidence bins.

    0 is perfect calibration; 0.05 means the confidence is off by 5 points on average.
    """
    confidence, accuracy, counts = reliability(probabilities, labels, bins)
    used = counts > 0
    if not used.any():
        return 0.0
    return float(np.sum(counts[used] * np.abs(accuracy[used] - confidence[used])) / counts.sum())


def fit_min_confidence(probabilities: np.ndarray, labels: np.ndarray,
                       flagged_right: float = FLAGGED_RIGHT) -> float:
    """The confidence bar below which a model says "not sure", from held-out answers.

    The calibrated top probability of :data:`FLAGGED_RIGHT` of the right answers
    on the validation split: 1% of right answers on digits like the training ones
    are called "not sure", and every answer less confident than those is. Between
    0.3 and 0.99; :data:`MIN_CONFIDENCE` without right answers to measure.
    """
    probabilities = np.asarray(probabilities)
    right = probabilities.argmax(axis=1) == np.asarray(labels)
    if not right.any():
        return MIN_CONFIDENCE
    bar = float(np.quantile(probabilities.max(axis=1)[right], flagged_right))
    return float(np.clip(bar, 0.3, 0.99))


def fit_bar(probabilities: np.ndarray, labels: np.ndarray,
            page_probabilities: np.ndarray | None = None,
            page_labels: np.ndarray | None = None) -> float:
    """The "not sure" bar, from the digits and, if given, from crops of everyday pages.

    On the digits alone, :func:`fit_min_confidence`: 1% of their right answers fall
    below it. With crops of pages, the bar is raised to the lowest value at which at
    most :data:`MAX_WRONG_UNFLAGGED` of the crops are answered wrong with a confidence
    at or above it, but not above the bar that flags :data:`MAX_FLAGGED_RIGHT` of the
    digits' right answers: on clean digits, "not sure" must stay rare.

    Parameters
    ----------
    probabilities : ndarray, shape (N, K)
        Calibrated probabilities of held-out digits.
    labels : ndarray of int, shape (N,)
    page_probabilities : ndarray, shape (M, K), optional
        Calibrated probabilities of crops of held-out pages.
    page_labels : ndarray of int, shape (M,), optional
        Their digits; ``-1`` for a crop of something else (every answer is wrong).

    Returns
    -------
    float
    """
    bar = fit_min_confidence(probabilities, labels)
    if page_probabilities is None or page_labels is None or len(page_labels) == 0:
        return bar
    pages = np.asarray(page_probabilities)
    wrong = pages.argmax(axis=1) != np.asarray(page_labels)
    # the confidences of the wrong answers, surest first: all but the first `allowed`
    # must fall below the bar
    confidence = np.sort(pages.max(axis=1)[wrong])[::-1]
    allowed = int(MAX_WRONG_UNFLAGGED * len(pages))
    needed = float(np.nextafter(confidence[allowed], 1)) if len(confidence) > allowed else 0.0
    cap = fit_min_confidence(probabilities, labels, MAX_FLAGGED_RIGHT)
    return float(max(bar, min(needed, cap)))


def is_unsure(probabilities: np.ndarray, min_confidence: float = MIN_CONFIDENCE,
              aspect: np.ndarray | None = None) -> np.ndarray:
    """Which answers should be "not sure".

    The rule, chosen by measuring (docs/results.md, "Not sure"): the calibrated top
    probability is below the model's bar, or the ink's box is more than
    :data:`MAX_ASPECT` times wider than tall (a word, not a digit).

    Parameters
    ----------
    probabilities : ndarray, shape (N, K)
        Calibrated class probabilities (:meth:`barenet.Sequential.predict_proba`).
    min_confidence : float
        The model's bar (:func:`min_confidence`).
    aspect : ndarray, shape (N,), optional
        Width over height of each picture's ink box.

    Returns
    -------
    ndarray of bool, shape (N,)
    """
    unsure = np.asarray(probabilities).max(axis=1) < min_confidence
    if aspect is not None:
        unsure |= np.asarray(aspect, dtype=np.float64) > MAX_ASPECT
    return unsure
