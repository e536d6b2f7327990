"""Checkpoints and run folders against edits, forgeries and a second process.

A checkpoint is trusted no more than a model file: a well-formed file with a
wrong state, or members larger than the run's arrays, is one line, never a
traceback or gigabytes. A resumed run must train on what it started with, and
two trainings cannot share one run folder.
"""

import io
import json
import zipfile

import numpy as np
import pytest

from barenet.cli.main import main
from barenet.data import FILES, read_idx, write_idx
from barenet.train.checkpoint import STATE, LoopState, read_state
from barenet.train.runs import RunFolder


def train(capsys, *args):
    code = main(["train", "--no-plots", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def run(tiny_data, tiny_config, tmp_path, capsys):
    """A tiny run stopped after its last checkpoint, before its end was written (a finished
    run is not resumed)."""
    out = tmp_path / "run"
    code, _, err = train(capsys, "--config", tiny_config, "--data-dir", tiny_data, "--out", out)
    assert code == 0, err
    (out / "history.json").unlink()
    return out


def rewrite(path, replace):
    """Rewrite the zip at ``path``: ``replace(name, data) -> (name, data) or None`` per member."""
    with zipfile.ZipFile(path) as archive:
        items = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in items:
            replaced = replace(name, data)
            if replaced is not None:
                archive.writestr(*replaced)


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def with_state(path, edit):
    """Replace the checkpoint's state JSON by ``edit(state)`` (a dict, or any JSON value)."""
    state = json.loads(read_state(path).to_json())
    new = edit(state)
    text = json.dumps(state if new is None else new).encode()
    rewrite(path, lambda name, data: (name, npy(np.frombuffer(text, np.uint8)))
            if name == f"{STATE}.npy" else (name, data))


def test_the_loop_state_round_trips_and_is_one_unit(run):
    state = read_state(run / "checkpoint.npz")
    assert isinstance(state, LoopState) and state.epoch == 3 and state.batch == 0
    assert state.partial is None and len(state.history) == 3 and state.best["epoch"] >= 1
    assert len(state.config_sha256) == 64 and len(state.data_sha256) == 4
    assert LoopState.from_json(state.to_json(), "x") == state


STATE_VARIANTS = [
    (lambda s: [1, 2, 3], "its state has keys"),
    (lambda s: s.update(batch=-5), "'batch' is not a whole number"),
    (lambda s: s.update(epoch="one"), "'epoch' is not a whole number"),
    (lambda s: s.update(rngs=s["rngs"][:1]), "random states"),
    (lambda s: s.pop("history"), "its state has keys"),
    (lambda s: s.update(rngs=[{"bit_generator": "PCG64", "state": {"state": -1}}]),
     "'rngs' is not a list of NumPy bit-generator states"),
    (lambda s: s.update(partial={"loss": 1.0}), "'partial'"),
    (lambda s: s.update(history=[{"epoch": "x"}]), "'history'"),
    (lambda s: s.update(best={"epoch": 1}), "'best'"),
    (lambda s: s.update(epoch=10**6), "is at epoch 1000000"),
    (lambda s: s.update(config_sha256="abc"), "'config_sha256'"),
]


@pytest.mark.parametrize("edit, problem", STATE_VARIANTS)
def test_a_checkpoint_with_a_wrong_state_is_one_line_on_resume(run, capsys, edit, problem):
    with_state(run / "checkpoint.npz", edit)
    code, out, err = train(capsys, "--resume", run)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert problem in err and "Traceback" not in err


def test_checkpoint_members_are_size_checked_before_they_are_read(run, capsys):
    checkpoint = run / "checkpoint.npz"
    # a member declaring 1.6 GB: ZipFile would inflate it whole before any check
    huge = npy(np.zeros((20_000, 20_000), np.float32))
    rewrite(checkpoint, lambda name, data: (name, huge) if name == "model.0.weight.npy"
            else (name, data))
    code, _, err = train(capsys, "--resume", run)
    assert code == 2 and "model.0.weight" in err and "at most" in err


def test_a_checkpoint_member_of_the_wrong_shape_or_not_finite_is_refused(run, capsys):
    checkpoint = run / "checkpoint.npz"
    rewrite(checkpoint, lambda name, data: (name, npy(np.full(16, np.nan, np.float32)))
            if name == "model.0.bias.npy" else (name, data))
    code, _, err = train(capsys, "--resume", run)
    assert code == 2 and "NaN" in err and "model.0.bias" in err
    rewrite(checkpoint, lambda name, data: None if name == "optim.t.npy" else (name, data))
    code, _, err = train(capsys, "--resume", run)
    assert code == 2 and "missing ['optim.t']" in err


def test_an_edited_config_is_refused_on_resume(run, capsys):
    config = run / "config.toml"
    config.write_text(config.read_text().replace("batch_size = 32", "batch_size = 4096"))
    code, _, err = train(capsys, "--resume", run)
    assert code == 2 and "config.toml changed since" in err and "undo the edit" in err


def test_other_data_files_are_refused_on_resume(run, tiny_data, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    for path in tiny_data.iterdir():
        (other / path.name).write_bytes(path.read_bytes())
    target = other / FILES[3]  # the test labels, one changed
    labels = read_idx(target).copy()
    labels[0] = (labels[0] + 1) % 10
    write_idx(target, labels)
    code, _, err = train(capsys, "--resume", run, "--data-dir", other)
    assert code == 2 and "data files differ" in err and target.name in err


def test_a_second_training_in_the_same_folder_is_refused(tiny_data, tiny_config, tmp_path,
                                                         capsys):
    out = tmp_path / "busy"
    holder = RunFolder(out)
    out.mkdir()
    holder.lock()  # as a training in another process would
    code, _, err = train(capsys, "--config", tiny_config, "--data-dir", tiny_data, "--out", out)
    assert code == 2 and "is in use by process" in err and "choose another --out" in err
    assert not (out / "config.toml").exists()  # nothing of the second run was written
    holder._lock.close()  # released: now it trains
    code, _, err = train(capsys, "--config", tiny_config, "--data-dir", tiny_data, "--out", out)
    assert code == 0, err
