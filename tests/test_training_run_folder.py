"""A run folder is untrusted input: barenet follows no symbolic link in it, reads its records
with a size bound, and never takes a folder holding other files as a new run's folder."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from barenet.cli.main import main
from barenet.data.folder import add_sample
from barenet.errors import BarenetError
from barenet.train.runs import MAX_HISTORY_BYTES, RunFolder


@pytest.fixture
def finished_run(tiny_data, tiny_config, tmp_path) -> Path:
    out = tmp_path / "run"
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(out), "--no-plots"]) == 0
    return out


@pytest.fixture
def users_file(tmp_path) -> Path:
    path = tmp_path / "precious.txt"
    path.write_text("the user's own words\n")
    return path


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# -- what barenet writes: only into folders it made or was handed empty ------------------

@pytest.mark.parametrize("command", ["train", "finetune"])
def test_out_into_a_folder_holding_other_files_is_refused(tiny_data, tiny_config, tmp_path,
                                                          capsys, command, finished_run):
    """Item 3: `--out DIR` used to replace config.toml, history.csv, best.npz... in DIR."""
    folder = tmp_path / "my-folder"
    folder.mkdir()
    mine = {"config.toml": "mine", "history.csv": "mine too", "notes.txt": "and mine"}
    for name, text in mine.items():
        (folder / name).write_text(text)
    if command == "train":
        args = ["train", "--config", str(tiny_config), "--data-dir", str(tiny_data)]
    else:
        samples = tmp_path / "samples"
        for digit in range(10):
            for i in range(3):
                picture = np.zeros((28, 28), np.uint8)
                picture[4 + 2 * i:20, 6 + digit:10 + digit] = 255
                add_sample(samples, str(digit), picture)
        args = ["finetune", "--model", str(finished_run), "--samples", str(samples)]
    assert main([*args, "--out", str(folder)]) == 2
    err = one_line(capsys)
    assert "is not empty" in err and "new or empty folder" in err
    assert {p.name: p.read_text() for p in folder.iterdir()} == mine


def test_out_into_an_empty_folder_is_taken(tiny_data, tiny_config, tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(folder), "--no-plots"]) == 0
    assert (folder / "model.npz").is_file()


# -- what barenet follows: no symbolic link inside a run folder ---------------------------

def test_a_lock_that_is_a_symbolic_link_is_refused_and_its_target_kept(tmp_path, users_file):
    """Item 2: `train --resume` used to truncate the file a `.lock` link pointed at."""
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    run.lock_file.symlink_to(users_file)
    with pytest.raises(BarenetError, match="symbolic link"):
        run.lock()
    assert users_file.read_text() == "the user's own words\n"


def test_resume_through_a_lock_link_leaves_the_linked_file(finished_run, users_file, capsys):
    (finished_run / ".lock").unlink(missing_ok=True)
    (finished_run / ".lock").symlink_to(users_file)
    for name in ("model.npz", "best.npz", "history.json"):  # an interrupted run: resumable
        (finished_run / name).unlink()
    assert main(["train", "--resume", str(finished_run)]) == 2
    assert "symbolic link" in one_line(capsys)
    assert users_file.read_text() == "the user's own words\n"


def test_report_refuses_a_plots_folder_that_is_a_link(finished_run, tmp_path, capsys):
    """Item 2: a `plots` link made `report` replace the pictures in the linked folder."""
    pictures = tmp_path / "holiday"
    pictures.mkdir()
    (pictures / "loss.png").write_bytes(b"a holiday photo")
    (finished_run / "plots").symlink_to(pictures, target_is_directory=True)
    assert main(["report", str(finished_run)]) == 2
    assert "symbolic link" in one_line(capsys)
    assert [p.name for p in pictures.iterdir()] == ["loss.png"]
    assert (pictures / "loss.png").read_bytes() == b"a holiday photo"


def test_a_model_file_that_is_a_link_is_not_followed(finished_run, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere.npz"
    (finished_run / "best.npz").rename(elsewhere)
    (finished_run / "best.npz").symlink_to(elsewhere)
    assert main(["evaluate", str(finished_run)]) == 2
    assert "symbolic link" in one_line(capsys)


def test_a_history_that_is_a_link_is_not_read(finished_run, tmp_path, capsys):
    secret = tmp_path / "secret.json"
    secret.write_text('{"epochs": []}')
    (finished_run / "history.json").unlink()
    (finished_run / "history.json").symlink_to(secret)
    assert main(["report", str(finished_run)]) == 2
    assert "symbolic link" in one_line(capsys)


# -- what barenet bounds: the records it reads ---------------------------------------------

def test_a_huge_history_is_one_line_not_a_memory_error(finished_run, capsys):
    """Item 8: a sparse 3 GiB history.json gave a MemoryError traceback."""
    with open(finished_run / "history.json", "r+b") as handle:
        handle.truncate(3 << 30)  # sparse: no disk used
    assert main(["report", str(finished_run)]) == 2
    err = one_line(capsys)
    assert "history.json" in err and f"{MAX_HISTORY_BYTES:,} bytes" in err


@pytest.mark.parametrize("record", [
    {"dataset": "mnist", "data_dir": "/proc/self", "sha256": {"mem": "0" * 64}},
    {"dataset": "mnist", "data_dir": "/", "sha256": {"../proc/self/mem": "0" * 64}},
    {"dataset": "mnist", "data_dir": ["not", "a", "path"], "sha256": {}},
    "not an object",
    None,
])
def test_a_data_record_naming_other_files_is_ignored_with_a_warning(finished_run, capsys,
                                                                    offline_data, record):
    """Item 18: data.json naming /proc/self/mem gave an OSError traceback in evaluate."""
    (finished_run / "data.json").write_text(json.dumps(record))
    code = main(["evaluate", str(finished_run)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "warning: ignoring" in err and "data.json" in err
    assert code == 2 and "downloading" not in err  # no data: one line saying where to put it
    assert err.splitlines()[-1].startswith("barenet: error:")


def test_a_huge_data_record_is_ignored_with_a_warning(finished_run, capsys):
    with open(finished_run / "data.json", "r+b") as handle:
        handle.truncate(3 << 30)
    assert RunFolder(finished_run).data_dir("mnist") is None
    assert "warning: ignoring" in capsys.readouterr().err


def test_a_data_record_pointing_at_a_fifo_is_not_opened(finished_run, capsys):
    os.unlink(finished_run / "data.json")
    os.mkfifo(finished_run / "data.json")
    assert RunFolder(finished_run).data_dir("mnist") is None  # returns at once, no hang
    assert "not a regular file" in capsys.readouterr().err


# -- a finished run is not redone ------------------------------------------------------------

def test_resume_of_a_finished_run_says_so_and_rewrites_nothing(finished_run, capsys):
    """Issue 33, item 4: `train --resume` on a finished run recalibrated, re-tested and
    rewrote best.npz."""
    before = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    assert main(["train", "--resume", str(finished_run)]) == 2
    err = one_line(capsys)
    assert "is a finished run: there is nothing to resume" in err
    assert f"barenet evaluate {finished_run}" in err
    after = {p.name: p.read_bytes() for p in finished_run.iterdir() if p.is_file()}
    assert after == before


def test_training_into_a_finished_run_does_not_suggest_resuming_it(finished_run, tiny_data,
                                                                   tiny_config, capsys):
    assert main(["train", "--config", str(tiny_config), "--data-dir", str(tiny_data),
                 "--out", str(finished_run)]) == 2
    err = one_line(capsys)
    assert "already holds a finished run" in err and "--resume" not in err
