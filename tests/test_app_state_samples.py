"""The app's samples: saved where every reader looks, whatever the model's class names."""

from __future__ import annotations

from types import SimpleNamespace

from barenet import Sequential
from barenet.app.state import AppState
from barenet.data import DATASETS
from barenet.data.folder import read_folder
from barenet.model import file as model_file
from barenet.nn.layers import Linear

FASHION = list(DATASETS["fashion-mnist"].class_names)


def draw_stroke(state: AppState) -> None:
    state.board.begin(140, 60)
    state.board.extend(140, 220)
    state.board.end()


def test_a_class_name_with_a_slash_is_saved_where_teach_and_evaluate_read(tmp_path):
    path = tmp_path / "fashion.npz"
    Sequential([Linear(784, 10, rng=0)], metadata={"class_names": FASHION}).save(path)
    state = AppState(path, samples=tmp_path / "samples")
    assert state.class_names == FASHION
    draw_stroke(state)
    status = state.save_sample("T-shirt/top")
    assert status.startswith("Saved as a T-shirt/top") and "T-shirt%2Ftop" in status
    assert [p.name for p in (tmp_path / "samples").iterdir()] == ["T-shirt%2Ftop"]
    assert state.sample_counts() == {**dict.fromkeys(FASHION, 0), "T-shirt/top": 1}
    assert read_folder(tmp_path / "samples", FASHION).labels.tolist() == [0]
    assert state.undo_sample().startswith("Deleted") and state.sample_counts()["T-shirt/top"] == 0


def test_a_model_whose_class_names_would_leave_the_samples_folder_is_refused(tmp_path,
                                                                            monkeypatch):
    path = tmp_path / "hostile.npz"
    names = [str(d) for d in range(9)] + [".."]
    with monkeypatch.context() as patch:  # written as a hostile writer would
        patch.setattr(model_file, "Card", SimpleNamespace(read=lambda *args: None))
        Sequential([Linear(784, 10, rng=0)], metadata={"class_names": names}).save(path)
    state = AppState(path, samples=tmp_path / "samples")
    assert state.model is None and "class name '..' cannot name a folder" in \
        state.model_message
    draw_stroke(state)
    assert state.save_sample("..").startswith("Could not save the sample: class name '..'")
    assert state.save_sample("../../escaped").startswith("Saved as a ../../escaped")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.npz", "samples"]
    assert [p.name for p in (tmp_path / "samples").iterdir()] == ["..%2F..%2Fescaped"]
