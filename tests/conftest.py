"""Fixtures shared by the test files (keep generic: several test files use them)."""

import os
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from barenet.data import FILES, write_idx

# One BLAS thread for the whole test run, as `barenet train` uses by default: on two
# shared cores a second OpenBLAS thread made small products up to 40x slower.
threadpool_limits(limits=1, user_api="blas")


@pytest.fixture
def rng() -> np.random.Generator:
    """A freshly seeded generator per test: reproducible and independent of test order."""
    return np.random.default_rng(20240601)


@pytest.fixture
def linear_model():
    """``linear_model(inputs=784, outputs=10, **metadata)``: one seeded Linear layer as a
    model, the smallest model every reader (predict, evaluate, load) takes."""
    from barenet import Sequential
    from barenet.nn.layers import Linear

    def make(inputs: int = 784, outputs: int = 10, **metadata):
        return Sequential([Linear(inputs, outputs, rng=0)], metadata=metadata)

    return make


# --- a tiny training setup: separable fake digits and a config that learns them in seconds ---

TINY_CONFIG = """
name = "tiny"
epochs = 3
batch_size = 32
validation_size = 60

[optimizer]
name = "adam"
lr = 0.01

[model]
input_shape = [784]
layers = [{type = "Linear", out_features = 16}, {type = "ReLU"},
          {type = "Linear", out_features = 10}]
"""


def separable_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Class k is a bright 6x6 block in the k-th cell of a grid, plus noise."""
    images = rng.integers(0, 60, (len(labels), 28, 28), dtype=np.uint8)
    for i, k in enumerate(labels):
        row, col = divmod(int(k), 4)
        images[i, 2 + 7 * row:8 + 7 * row, 2 + 7 * col:8 + 7 * col] = 250
    return images


@pytest.fixture
def tiny_data(tmp_path, rng):
    folder = tmp_path / "data"
    for (images_file, labels_file), n in zip((FILES[:2], FILES[2:]), (400, 200), strict=True):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(folder / images_file, separable_images(labels, rng))
        write_idx(folder / labels_file, labels)
    return folder


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_CONFIG)
    return path


# --- Fuzz counts (tests/test_fuzz.py): inputs per target, shown in the terminal summary ---

class FuzzCounts:
    """How many inputs each fuzz target ran, by outcome, and how long its tests took."""

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, int]] = {}
        self.seconds: dict[str, float] = {}
        self.node_targets: dict[str, set[str]] = {}

    def count(self, nodeid: str, target: str, outcome: str) -> None:
        counts = self.outcomes.setdefault(target, {})
        counts[outcome] = counts.get(outcome, 0) + 1
        self.node_targets.setdefault(nodeid, set()).add(target)


FUZZ_COUNTS = FuzzCounts()


class _FuzzRecorder:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid

    def __call__(self, target: str, outcome: str) -> None:
        """Count one input of ``target``: ``outcome`` is "refused" or "accepted"."""
        FUZZ_COUNTS.count(self.nodeid, target, outcome)


@pytest.fixture
def fuzz(request: pytest.FixtureRequest) -> _FuzzRecorder:
    """``fuzz(target, outcome)`` counts one fuzz input for the terminal summary."""
    return _FuzzRecorder(request.node.nodeid)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    targets = FUZZ_COUNTS.node_targets.get(report.nodeid)
    if targets and report.when == "call":
        for target in targets:  # a test feeding two targets is timed under both
            FUZZ_COUNTS.seconds[target] = FUZZ_COUNTS.seconds.get(target, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if not FUZZ_COUNTS.outcomes:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz: inputs per target (only BarenetError may escape)")
    write(f"{'target':<34}{'inputs':>9}{'refused':>9}{'accepted':>10}{'seconds':>9}")
    total = 0
    for target, counts in sorted(FUZZ_COUNTS.outcomes.items()):
        n = sum(counts.values())
        total += n
        write(f"{target:<34}{n:>9}{counts.get('refused', 0):>9}"
              f"{counts.get('accepted', 0):>10}{FUZZ_COUNTS.seconds.get(target, 0.0):>9.1f}")
    write(f"{'total':<34}{total:>9}")


# --- CI: a skipped test is a failure (BARENET_NO_SKIP=1, set by .ci/run) ---
# Tests skip with a reason naming what to install (Tk, Xvfb, xdotool, PyTorch, the
# MNIST files); CI installs all of them, so any skip there means a test did not run.

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("BARENET_NO_SKIP") == "1" and report.skipped:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where everything is installed: {reason}"


# --- the real MNIST files, for the few tests that need them -------------------------------

#: Where CI and the team keep the four MNIST files: ../shared/data/mnist beside the repo.
REAL_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def write_mnist_slice(folder: Path, train: int, test: int):
    """Write the first ``train`` training and ``test`` test digits of the real MNIST files as a
    dataset folder; returns the full dataset. Skips the test when the files are not there."""
    from barenet.data import FILES, load_dataset, write_idx

    if not REAL_MNIST.is_dir():
        pytest.skip(f"the MNIST files are not in {REAL_MNIST}")
    dataset = load_dataset("mnist", REAL_MNIST)
    for name, array in zip(FILES, (dataset.train_images[:train], dataset.train_labels[:train],
                                   dataset.test_images[:test], dataset.test_labels[:test]),
                           strict=True):
        write_idx(folder / name, array)
    return dataset


@pytest.fixture
def offline_data(monkeypatch, tmp_path) -> Path:
    """No $BARENET_DATA, the cache in tmp_path/cache, no system folders, downloads impossible:
    a dataset is found only where a test puts it. Returns tmp_path."""
    import dataclasses

    from barenet.data import datasets

    monkeypatch.delenv("BARENET_DATA", raising=False)
    monkeypatch.setenv("BARENET_CACHE", str(tmp_path / "cache"))
    for name in list(datasets.DATASETS):
        monkeypatch.setitem(datasets.DATASETS, name,
                            dataclasses.replace(datasets.DATASETS[name], system_dirs=()))
        monkeypatch.setitem(datasets.MIRRORS, name, [])
    return tmp_path
