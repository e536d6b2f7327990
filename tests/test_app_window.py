"""The drawing app: its logic without a screen, then the real window on Xvfb.

The window tests start their own X server (Xvfb) and move the real pointer
with xdotool. Without Tk, Xvfb or xdotool they are skipped with the apt line to
install them (CI installs all three and fails on any skipped test).
A screenshot of the window is saved to test-artifacts/app.png.
"""

from __future__ import annotations

import gc
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from barenet import Sequential
from barenet.app.board import MAX_BRUSH, MIN_BRUSH, DrawingBoard
from barenet.app.network import activations, describe
from barenet.app.state import DRAW_PROMPT, AppState
from barenet.cli import main as cli
from barenet.nn.layers import Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU
from barenet.vision import center_of_mass, preprocess

NO_TK = "this Python has no Tk support: apt-get install python3-tk (Debian/Ubuntu)"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
METADATA = {"normalization": {"mean": 0.1307, "std": 0.3081}, "class_names": NAMES}
# A ring, as pointer positions on the 280x280 board: a '0'.
RING = [(140 + 55 * np.sin(a), 140 - 90 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 25)]


def ring_drawing(board: DrawingBoard) -> None:
    board.begin(*RING[0])
    for point in RING[1:]:
        board.extend(*point)
    board.end()


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """An MLP whose 'zero' output responds to a drawn ring."""
    rng = np.random.default_rng(0)
    model = Sequential([Linear(784, 32, rng=rng), ReLU(), Dropout(0.5, rng=rng),
                        Linear(32, 10, rng=rng)], metadata=METADATA)
    board = DrawingBoard()
    ring_drawing(board)
    seen = preprocess(board.to_array()).ravel()
    model.layers[0].params["weight"].data[:, 0] = 0.5 * (seen - seen.mean())
    model.layers[3].params["weight"].data[0, 0] = 3.0
    path = tmp_path_factory.mktemp("model") / "mlp.npz"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def conv_file(tmp_path_factory) -> Path:
    model = Sequential([Conv2d(1, 4, 3, rng=0), ReLU(), MaxPool2d(2), Flatten(),
                        Linear(4 * 13 * 13, 10, rng=1)], input_shape=(1, 28, 28),
                       metadata=METADATA)
    path = tmp_path_factory.mktemp("model") / "conv.npz"
    model.save(path)
    return path


# -- the drawing board -----------------------------------------------------------------

def test_strokes_have_round_caps_and_no_gaps():
    board = DrawingBoard(brush=20)
    assert board.empty
    board.begin(50, 50)
    assert board.extend(230, 60) == (50, 50, 230, 60)  # one fast move: a long segment
    board.end()
    ink = board.to_array()
    assert not board.empty and ink.dtype == np.uint8
    for x in range(50, 231, 5):  # continuous along the whole segment
        assert ink[round(50 + (x - 50) * 10 / 180), x] == 255
    assert ink[50, 41] == 255 and ink[50, 37] == 0  # round cap of radius 10 beyond the end
    assert ink[40, 50] == 255 and ink[38, 50] == 0  # stroke 20 wide
    assert board.extend(100, 100) is None  # pen up: nothing drawn
    board.clear()
    assert board.empty and board.to_array().max() == 0


def test_brush_width_is_clamped():
    board = DrawingBoard()
    board.set_brush(1)
    assert board.brush == MIN_BRUSH
    board.set_brush(500)
    assert board.brush == MAX_BRUSH


# -- stages and activations ---------------------------------------------------------------

def test_mlp_stages_and_activations(model_file):
    from barenet import load

    model = load(model_file)
    stages = describe(model)
    assert [(s.names, s.units, s.conv) for s in stages] == [
        (("Linear", "ReLU", "Dropout"), 32, False), (("Linear",), 10, False)]
    board = DrawingBoard()
    ring_drawing(board)
    seen = preprocess(board.to_array())
    model.train()
    result = activations(model, stages, seen)
    assert model.training  # the mode is restored
    assert [v.shape for v in result.stages] == [(32,), (10,)]
    assert result.feature_maps is None
    assert result.stages[0].min() >= 0  # after the ReLU
    again = activations(model, stages, seen)  # eval mode: dropout is off, so repeatable
    np.testing.assert_array_equal(result.stages[0], again.stages[0])
    np.testing.assert_allclose(result.probabilities, model.predict_proba(seen[None])[0])
    assert NAMES[int(np.argmax(result.probabilities))] == "zero"


def test_convolutional_stage_shows_channels_and_feature_maps(conv_file):
    from barenet import load

    model = load(conv_file)
    stages = describe(model)
    assert [(s.units, s.conv) for s in stages] == [(4, True), (10, False)]
    result = activations(model, stages, np.eye(28, dtype=np.float32))
    assert result.feature_maps.shape == (4, 13, 13)
    np.testing.assert_allclose(result.stages[0], result.feature_maps.mean(axis=(1, 2)), rtol=1e-6)


# -- the state behind the window ------------------------------------------------------

def test_state_follows_the_drawing(model_file):
    state = AppState(model_file)
    assert state.model_message is None and state.class_names == NAMES
    state.update()
    assert state.seen is None and state.result is None and state.status == DRAW_PROMPT
    ring_drawing(state.board)
    state.update()
    assert state.seen.shape == (28, 28)
    assert state.status == f"The network says zero ({100 * state.result.probabilities[0]:.1f}%)."
    state.board.clear()
    state.update()
    assert state.seen is None and state.status == DRAW_PROMPT


def test_state_without_any_model_says_to_train(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = AppState(None)
    assert state.model is None and "barenet train" in state.model_message
    ring_drawing(state.board)
    state.update()
    assert state.seen is not None and state.result is None  # the preview still works


@pytest.mark.parametrize("content, words", [(b"not a zip", "not a readable barenet model"),
                                            (None, "28x28")])
def test_state_with_an_unusable_model_says_why(tmp_path, content, words):
    path = tmp_path / "model.npz"
    if content is None:
        Sequential([Linear(100, 10)]).save(path)
    else:
        path.write_bytes(content)
    state = AppState(path)
    assert state.model is None and words in state.model_message


def test_the_newest_run_is_the_default_model(model_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "best.npz").write_bytes(model_file.read_bytes())
    state = AppState(None)
    assert state.model is not None and state.model_path == Path("runs/a/best.npz")


# -- the real window on a virtual screen ---------------------------------------------------

@pytest.fixture(scope="module")
def display() -> str:
    """Start Xvfb on a free display number; yield its name, e.g. ':3'."""
    pytest.importorskip("tkinter", reason=NO_TK)
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: apt-get install xvfb xdotool")
    read, write = os.pipe()
    # Xvfb's chatter goes to a file: a pipe nobody reads would fill up and freeze the server.
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24",
                               "-nolisten", "tcp"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=log)
    os.close(write)
    number = b""
    deadline = time.monotonic() + 20
    while not number.endswith(b"\n"):
        ready, _, _ = select.select([read], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(read, 16) if ready else b""
        if not chunk:
            server.kill()
            server.wait()
            log.seek(0)
            pytest.fail(f"Xvfb did not start: {log.read().decode(errors='replace')[-500:]}")
        number += chunk
    os.close(read)
    try:
        yield f":{number.decode().strip()}"
    finally:
        server.terminate()
        server.wait(10)
        log.close()
        # Tk copies the display name into the process environment behind os.environ's
        # back; put back what os.environ says so later subprocesses don't inherit it.
        if "DISPLAY" in os.environ:
            os.putenv("DISPLAY", os.environ["DISPLAY"])
        else:
            os.unsetenv("DISPLAY")


class Window:
    """A DrawApp on the virtual screen, with helpers to drive it for real."""

    def __init__(self, display: str, model: Path | None) -> None:
        import tkinter as tk

        from barenet.app.window import DrawApp

        self.display = display
        self.errors: list[BaseException] = []
        self.root = tk.Tk(screenName=display)
        self.root.report_callback_exception = lambda kind, exc, tb: self.errors.append(exc)
        self.app = DrawApp(self.root, AppState(model))
        deadline = time.monotonic() + 10
        while not self.app.canvas.winfo_viewable() and time.monotonic() < deadline:
            self.pump(0.05)
        self.pump(0.2)

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.root.update()
            time.sleep(0.005)

    def xdotool(self, *args: str) -> None:
        """Run xdotool while the Tk event loop keeps running, then let events settle."""
        process = subprocess.Popen(["xdotool", *args], env={**os.environ,
                                                            "DISPLAY": self.display})
        while process.poll() is None:
            self.pump(0.01)
        assert process.returncode == 0
        self.pump(0.3)

    def draw(self, points: list[tuple[float, float]], pause: float = 0.02) -> None:
        """Press, move through ``points`` on the drawing canvas, release: real pointer events."""
        x0, y0 = self.app.canvas.winfo_rootx(), self.app.canvas.winfo_rooty()
        screen = [(str(round(x0 + x)), str(round(y0 + y))) for x, y in points]
        args = ["mousemove", *screen[0], "mousedown", "1"]
        for x, y in screen[1:]:
            args += ["mousemove", x, y, "sleep", str(pause)]
        self.xdotool(*args, "mouseup", "1")

    def settle(self, timeout: float = 20.0) -> None:
        """Pump events until the reader has answered the last drawing and it is shown."""
        from barenet.app.window import READER_POLL_MS

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.app._pending is None and self.app.reader.idle:
                self.pump(2 * READER_POLL_MS / 1000)  # the window's next look shows it
                if self.app.reader.idle and self.app.reader.answer() is None:
                    return
            self.pump(0.02)
        pytest.fail("the reader did not answer in time")

    def screenshot(self) -> Image.Image:
        from PIL import ImageGrab

        x, y = self.root.winfo_rootx(), self.root.winfo_rooty()
        return ImageGrab.grab(bbox=(x, y, x + self.root.winfo_width(),
                                    y + self.root.winfo_height()), xdisplay=self.display)

    def close(self) -> None:
        self.app.close()
        gc.collect()  # here, on Tk's thread: Tk objects must not be collected on another
        assert not self.errors, self.errors


@pytest.fixture
def window(display):
    opened: list[Window] = []

    def open_window(model: Path | None) -> Window:
        opened.append(Window(display, model))
        return opened[-1]

    yield open_window
    for w in opened:
        w.close()


def bar_lengths(network) -> list[float]:
    """The drawn length of every probability bar, in pixels."""
    return [network.canvas.coords(bar)[2] - network.canvas.coords(bar)[0]
            for bar in network.bars]


def test_drawing_with_the_pointer_updates_what_the_network_sees_and_its_bars(
        window, model_file, monkeypatch):
    from barenet.app.window import WINNER

    w = window(model_file)
    app, state = w.app, w.app.state
    assert state.seen is None and bar_lengths(app.network) == [0.0] * 10
    assert app.status.cget("text") == DRAW_PROMPT
    reads = []
    read = state.read
    monkeypatch.setattr(state, "read", lambda *a: (reads.append(1), read(*a))[1])

    w.draw(RING, pause=0.04)  # about a second of drawing: throttled reads while moving
    w.settle()

    assert len(reads) >= 3  # some while drawing, one on release
    board = state.board.to_array()
    for (xa, ya), (xb, yb) in zip(RING, RING[1:], strict=False):  # joined between events
        assert board[round((ya + yb) / 2), round((xa + xb) / 2)] == 255
    assert state.seen is not None
    np.testing.assert_allclose(center_of_mass(state.seen), (14, 14), atol=0.5)
    np.testing.assert_array_equal(state.seen, preprocess(board, invert=False))
    lengths = bar_lengths(app.network)
    assert sum(lengths) == pytest.approx(app.network.bar_max, rel=1e-3)  # they add up to 100%
    best = int(np.argmax(lengths))
    assert NAMES[best] == "zero"
    assert app.network.canvas.itemcget(app.network.bars[best], "fill") == WINNER
    assert app.status.cget("text").startswith("The network says zero")

    shot = w.screenshot()
    ARTIFACTS.mkdir(exist_ok=True)
    shot.save(ARTIFACTS / "app.png")
    pixels = np.asarray(shot.convert("L"))
    cx = app.canvas.winfo_rootx() - w.root.winfo_rootx()
    cy = app.canvas.winfo_rooty() - w.root.winfo_rooty()
    x, y = RING[6]
    assert pixels[cy + round(y), cx + round(x)] == 255  # the stroke is on the screen
    assert pixels[cy + 140, cx + 140] == 0  # and the middle of the ring is not

    w.xdotool("mousemove", str(cx + w.root.winfo_rootx() + 140),
              str(cy + w.root.winfo_rooty() + 140), "key", "c")
    assert state.seen is None and state.board.empty
    assert bar_lengths(app.network) == [0.0] * 10
    assert app.canvas.find_withtag("ink") == ()


def test_brush_slider_sets_the_pen_width(window, model_file):
    w = window(model_file)
    w.app.brush.set(31)
    w.pump(0.2)
    assert w.app.state.board.brush == 31
    w.draw([(100, 100), (180, 100)])
    column = w.app.state.board.to_array()[:, 140]
    assert np.count_nonzero(column) in (31, 32)


def test_without_a_model_the_window_says_how_to_train_one(window, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = window(None)
    canvas = w.app.network.canvas
    message = canvas.itemcget(canvas.find_withtag("message")[0], "text")
    assert "barenet train" in message
    w.draw(RING)
    w.settle()
    assert w.app.state.seen is not None  # the preview works without a model


def test_a_broken_model_file_is_a_message_not_a_crash(window, tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 this is not a model")
    w = window(path)
    canvas = w.app.network.canvas
    assert str(path) in canvas.itemcget(canvas.find_withtag("message")[0], "text")


def test_convolutional_model_shows_feature_maps(window, conv_file):
    w = window(conv_file)
    assert w.app.network.maps_photo is None
    w.draw(RING)
    w.settle()
    photo = w.app.network.maps_photo
    assert photo is not None and photo.width() > 4 * 56
    colours = [w.app.network.canvas.itemcget(item, "fill") for item in w.app.network.nodes[0]]
    assert len(colours) == 4 and len(set(colours)) > 1  # channels lit differently


def test_saying_which_digit_it_was_saves_a_sample(window, model_file, tmp_path, monkeypatch):
    monkeypatch.setenv("BARENET_HOME", str(tmp_path / "home"))
    w = window(model_file)
    app = w.app
    assert app.state.samples == tmp_path / "home" / "samples"
    assert app.counts.cget("text").startswith("samples: zero: 0")
    w.draw(RING)
    w.settle()
    assert app.state.reasons is not None and app.state.reasons.shape == (28, 28, 3)
    w.xdotool("key", "0")  # "it's a zero"
    saved = list((tmp_path / "home" / "samples" / "zero").glob("*.png"))
    assert len(saved) == 1 and app.state.board.empty
    assert "zero: 1" in app.counts.cget("text")
    assert app.status.cget("text").startswith("Saved as a zero")
    with Image.open(saved[0]) as picture:
        assert picture.size == (280, 280)
    app.undo_sample()
    assert not saved[0].exists() and "zero: 0" in app.counts.cget("text")


def test_teach_swaps_in_the_taught_model_and_back(window, model_file, tmp_path, monkeypatch):
    from barenet.app.teach import Teacher

    monkeypatch.setenv("BARENET_HOME", str(tmp_path / "home"))
    taught = tmp_path / "taught"
    taught.mkdir()
    (taught / "best.npz").write_bytes(model_file.read_bytes())

    class Result:
        run_dir, held_out_before, held_out_after, test_before, test_after = \
            taught, 0.5, 1.0, 0.9, 0.9

    def fake(model, samples, log, progress):
        for k in range(10):
            progress(k / 10)
            time.sleep(0.02)
        return Result()

    w = window(model_file)
    w.app.teacher = Teacher(fake)
    w.app.teach()
    deadline = time.monotonic() + 10
    while w.app.state.model_path != taught / "best.npz" and time.monotonic() < deadline:
        w.pump(0.05)
    assert w.app.state.model_path == taught / "best.npz"
    assert w.app.status.cget("text").startswith("Taught: your held-out samples 50% -> 100%")
    assert w.app.original_button.cget("state") == "normal"
    # issue 33, item 7: the model label names the taught model and its run folder
    assert w.app.model_label.cget("text") == (f"model: {taught / 'best.npz'} (taught; run "
                                              f"folder {taught})")
    assert w.app.teach_progress.cget("value") == 1.0
    w.app.use_original()
    assert w.app.state.model_path == model_file
    assert w.app.model_label.cget("text") == f"model: {model_file}"
    assert w.app.teach_progress.cget("value") == 0  # not left full after swapping back


def test_drawing_never_waits_for_the_network(window, model_file, monkeypatch):
    """Issue 33, item 7: each refresh blocked the window for 0.25-0.75 s, so fast strokes
    became coarse polygons and the first stroke after launch lost its start."""
    w = window(model_file)
    state = w.app.state
    read = state.read

    def slow_read(*args):
        time.sleep(1.0)  # a network far slower than any real one
        return read(*args)

    monkeypatch.setattr(state, "read", slow_read)
    started = time.monotonic()
    w.app.refresh()
    assert time.monotonic() - started < 0.1  # handed over, not computed here
    motions = []
    original = w.app._motion
    monkeypatch.setattr(w.app, "_motion", lambda event: (motions.append(
        (event.x, event.y)), original(event))[1])
    w.app.canvas.bind("<B1-Motion>", w.app._motion)
    w.draw(RING, pause=0.01)  # fast strokes while the reader is busy
    assert len(motions) >= len(RING) - 2  # every pointer move reached the board
    board = state.board.to_array()
    for (xa, ya), (xb, yb) in zip(RING, RING[1:], strict=False):  # joined between events
        assert board[round((ya + yb) / 2), round((xa + xb) / 2)] == 255
    w.settle()
    assert state.seen is not None  # and the answer came when the reader was done
    np.testing.assert_array_equal(state.seen, preprocess(board, invert=False))


def test_titles_of_a_deep_cnn_are_readable(window, tmp_path):
    """The layout of configs/cnn.toml (four stages of four or five layers): no title
    overlaps another or leaves the canvas, and the nodes start below them."""
    from barenet.nn.layers import BatchNorm1d, BatchNorm2d

    layers = []
    channels = 1
    for out in (4, 8, 16):
        layers += [Conv2d(channels, out, 3, padding=1, rng=0), BatchNorm2d(out), MaxPool2d(2),
                   ReLU()]
        channels = out
    layers += [Flatten(), Linear(16 * 3 * 3, 12, rng=0), BatchNorm1d(12), ReLU(), Dropout(0.3),
               Linear(12, 10, rng=0)]
    path = tmp_path / "deep.npz"
    Sequential(layers, (1, 28, 28), METADATA).save(path)
    w = window(path)
    canvas = w.app.network.canvas
    boxes = sorted(canvas.bbox(item) for item in canvas.find_withtag("title"))
    assert len(boxes) == 4
    width, height = int(canvas.cget("width")), int(canvas.cget("height"))
    for left_box, right_box in zip(boxes, boxes[1:], strict=False):
        assert left_box[2] <= right_box[0], "two titles overlap"
    assert all(t >= 0 and r <= width and b < height for _, t, r, b in boxes)
    lowest = max(b for *_, b in boxes)
    assert all(canvas.coords(node)[1] > lowest for column in w.app.network.nodes
               for node in column)
    texts = [canvas.itemcget(item, "text") for item in canvas.find_withtag("title")]
    assert any(t.startswith("conv\n4 ch\n+norm") for t in texts)


def test_draw_without_a_display_is_a_one_line_error(capsys, monkeypatch, model_file):
    tk = pytest.importorskip("tkinter", reason=NO_TK)
    monkeypatch.setenv("DISPLAY", "")  # set, then delete: unsets it below os.environ too
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setattr(tk.Tk, "mainloop", lambda *_: pytest.fail("a window opened anyway"))
    monkeypatch.setattr(cli, "COMMANDS", {"draw": cli.COMMANDS["draw"]})
    assert cli.main(["draw", "--model", str(model_file)]) == 2
    err = capsys.readouterr().err
    assert "cannot open a window" in err and len(err.splitlines()) == 1


def test_draw_takes_a_run_folder_like_evaluate_and_predict(capsys, monkeypatch, tmp_path,
                                                           model_file):
    pytest.importorskip("tkinter", reason=NO_TK)
    import barenet.app.window as window

    opened = []
    monkeypatch.setattr(window, "main", opened.append)
    run = tmp_path / "run"
    run.mkdir()
    assert cli.main(["draw", "--model", str(run)]) == 2  # a folder without a model
    err = capsys.readouterr().err
    assert str(run) in err and len(err.splitlines()) == 1 and not opened
    (run / "best.npz").write_bytes(model_file.read_bytes())
    assert cli.main(["draw", "--model", str(run)]) == 0
    assert opened == [run / "best.npz"]
