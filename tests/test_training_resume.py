"""Ctrl-C / SIGTERM during ``barenet train``: a checkpoint, then an exact resume.

Driven for real: ``barenet train`` runs as a subprocess, receives a signal at a
random moment of its training, and is resumed with ``--resume``; its final
weights must equal, bit for bit, those of a run that was never interrupted.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import barenet
from barenet.data import FILES, write_idx

CONFIG = """
name = "resume"
epochs = 3
batch_size = 16
validation_size = 200
non_digits = 0.25  # their generator's state is resumed too

[optimizer]
name = "adam"
lr = 0.003

[schedule]
name = "cosine"

[augment]
max_shift = 1.0

[model]
input_shape = [784]
layers = [{type = "Linear", out_features = 32}, {type = "ReLU"}, {type = "Dropout", p = 0.2},
          {type = "Linear", out_features = 10}]
"""


@pytest.fixture
def setup(tmp_path):
    rng = np.random.default_rng(7)
    data = tmp_path / "data"
    for (images_file, labels_file), n in zip((FILES[:2], FILES[2:]), (6000, 100), strict=True):
        write_idx(data / images_file, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(data / labels_file, rng.integers(0, 10, n).astype(np.uint8))
    config = tmp_path / "resume.toml"
    config.write_text(CONFIG)
    return tmp_path, data, config


def barenet_train(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "barenet.cli.main", "train", "--no-plots",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def time_training(proc: subprocess.Popen, stop_after: float | None = None) -> float:
    """Seconds from the start of the training loop to its last epoch's line.

    With ``stop_after``, return that many seconds into the loop instead (the
    moment to send a signal at). The calibration, test and plots after the loop
    are not counted: a signal then has no checkpoint to write.
    """
    for line in proc.stdout:  # the model summary, then "training on ...": the loop starts
        if line.startswith("training on"):
            break
    start = time.perf_counter()
    if stop_after is not None:
        time.sleep(stop_after)
        return stop_after
    last = start
    for line in proc.stdout:
        if line.startswith("epoch "):
            last = time.perf_counter()
    return last - start


def weights(run_dir) -> dict[str, np.ndarray]:
    return barenet.load(run_dir / "model.npz").state_dict()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_then_resume_equals_an_uninterrupted_run(setup, signum):
    tmp, data, config = setup
    common = ["--config", str(config), "--data-dir", str(data)]
    straight = barenet_train(*common, "--out", str(tmp / "straight"))
    training_seconds = time_training(straight)
    assert straight.wait(timeout=300) == 0, straight.stderr.read()

    run = tmp / "interrupted"
    proc = barenet_train(*common, "--out", str(run))
    time_training(proc, stop_after=np.random.default_rng().uniform(0.05, 0.8) * training_seconds)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=300)
    if proc.returncode == 0:
        pytest.fail(f"training finished before the signal arrived; make the data larger\n{err}")
    assert proc.returncode == 3, err
    assert "checkpoint saved" in err and f"--resume {run}" in err and "Traceback" not in err
    assert (run / "checkpoint.npz").is_file() and not (run / "model.npz").exists()

    resumed = barenet_train("--resume", str(run))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "resuming" in out
    expected, got = weights(tmp / "straight"), weights(run)
    assert expected.keys() == got.keys()
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, capsys):
    from barenet.cli.main import main

    assert main(["train", "--resume", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "nothing" in err and err.count("\n") == 1
