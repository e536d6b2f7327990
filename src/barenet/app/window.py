"""The Tk window of ``barenet draw``: Draw | Network sees | Network, side by side.

The only module of barenet that imports tkinter. It turns pointer events into
strokes on the :class:`~barenet.app.board.DrawingBoard` and hands the drawing to a
:class:`Reader`, which asks the :class:`~barenet.app.state.AppState` what the network
makes of it on a thread of its own (on every release of the button and, throttled,
while drawing): drawing never waits for the network. The window shows each answer
when it arrives.
"""

from __future__ import annotations

import math
import threading
import tkinter as tk
import tkinter.font as tkfont
from pathlib import Path
from tkinter import ttk

import numpy as np
from PIL import Image, ImageTk

from ..errors import BarenetError
from .board import MAX_BRUSH, MIN_BRUSH
from .network import Activations, Stage
from .state import DRAW_PROMPT, AppState, View
from .teach import Teacher

#: Side of the drawing and of the enlarged preview, in pixels.
PANEL = 280
#: While the button is held, recompute at most this often (milliseconds).
UPDATE_MS = 80
#: How often the window looks for the reader's answer (milliseconds).
READER_POLL_MS = 25
TEACH_POLL_MS = 150
NETWORK_WIDTH, NETWORK_HEIGHT = 600, PANEL + 70  # taller than the board: room for titles
BACKGROUND = "#16181d"
DIM = "#2a2d35"
LINE = "#353a46"
TEXT = "#c9ccd3"
WINNER, OTHER = "#ffb000", "#5b7fa8"
TITLE_FONT = ("TkDefaultFont", 8)
MAX_NODES = 24  # wider stages are drawn as a grid of small squares (a heat strip)
GRID_ROWS = 32
SHOWN_MAPS = 8

# Colour ramp for activations: off -> orange -> pale yellow; negative -> blue.
_RAMP = np.array([[42, 45, 53], [230, 90, 20], [255, 176, 0], [255, 244, 190]], np.float32)
_NEGATIVE = np.array([[42, 45, 53], [70, 140, 255]], np.float32)


def heat_rgb(values: np.ndarray) -> np.ndarray:
    """RGB ``uint8`` colours for values in [-1, 1]: 0 dark, 1 bright yellow, -1 blue."""
    v = np.clip(np.asarray(values, np.float32), -1, 1)
    pos = np.clip(v, 0, 1) * (len(_RAMP) - 1)
    low = np.minimum(pos.astype(int), len(_RAMP) - 2)
    frac = (pos - low)[..., None]
    rgb = _RAMP[low] * (1 - frac) + _RAMP[low + 1] * frac
    neg = np.clip(-v, 0, 1)[..., None]
    rgb = np.where(v[..., None] < 0, _NEGATIVE[0] * (1 - neg) + _NEGATIVE[1] * neg, rgb)
    return np.round(rgb).astype(np.uint8)


def _hex(rgb: np.ndarray) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb))


def _scaled(values: np.ndarray) -> np.ndarray:
    """Values divided by their largest magnitude (all zeros stay zeros)."""
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    return values / peak if peak > 0 else np.zeros_like(values)


class NetworkView:
    """The "Network" panel: the input, one column per stage, the output bars, feature maps."""

    def __init__(self, canvas: tk.Canvas, state: AppState) -> None:
        self.canvas = canvas
        self.state = state
        self.nodes: list[list[int]] = []
        self.bars: list[int] = []
        self.bar_labels: list[int] = []
        self.percents: list[int] = []
        self.input_photo: ImageTk.PhotoImage | None = None
        self.maps_photo: ImageTk.PhotoImage | None = None
        self.maps_item: int | None = None
        self.bar_left = self.bar_max = 0
        if state.model is None:
            canvas.create_text(NETWORK_WIDTH // 2, NETWORK_HEIGHT // 2, fill=TEXT,
                               width=NETWORK_WIDTH - 60, justify="center",
                               text=state.model_message or "No model.", tags="message")
        else:
            self._layout(state.stages, state.class_names)

    # -- static layout, drawn once --------------------------------------------
    def _layout(self, stages: list[Stage], names: list[str]) -> None:
        c = self.canvas
        conv = any(s.conv for s in stages)
        hidden = stages[:-1]
        bottom = NETWORK_HEIGHT - (86 if conv else 10)
        label_w = min(90, 8 + 7 * max(len(n) for n in names))
        self.bar_max = 88
        bars_w = label_w + self.bar_max + 62
        input_x = 48
        xs = [input_x + 42 + 30 + (i + 0.5) * (NETWORK_WIDTH - bars_w - input_x - 72 - 30)
              / max(1, len(hidden)) for i in range(len(hidden))]
        top = max(34, self._titles(xs, hidden) + 6)
        self.input_photo = ImageTk.PhotoImage(Image.new("L", (84, 84), 0))
        mid = (top + bottom) / 2
        c.create_image(input_x, mid, image=self.input_photo)
        c.create_text(input_x, top - 18, text="input\n28x28", fill=TEXT, justify="center")
        input_ys = list(np.linspace(mid - 36, mid + 36, 6))
        columns = [(input_x + 42, input_ys, input_x + 42)]
        for x, stage in zip(xs, hidden, strict=True):
            columns.append(self._stage_column(x, top, bottom, stage))
        bar_x = NETWORK_WIDTH - bars_w
        rows = np.linspace(top + 6, bottom - 6, len(names))
        columns.append((bar_x, list(rows), bar_x))
        for (_, ys0, x0), (x1, ys1, _) in zip(columns, columns[1:], strict=False):
            for y0 in _sample(ys0, 7):
                for y1 in _sample(ys1, 7):
                    c.create_line(x0, y0, x1, y1, fill=LINE, tags="wire")
        c.tag_lower("wire")
        c.create_text(bar_x + bars_w / 2 - 6, top - 18, text="output\nprobabilities",
                      fill=TEXT, justify="center")
        self.bar_left = bar_x + label_w
        height = max(4, min(16, (bottom - top) / len(names) - 6))
        for name, y in zip(names, rows, strict=True):
            self.bar_labels.append(c.create_text(self.bar_left - 6, y, text=name, anchor="e",
                                                 fill=TEXT))
            c.create_rectangle(self.bar_left, y - height / 2, self.bar_left + self.bar_max,
                               y + height / 2, fill=DIM, outline="")
            self.bars.append(c.create_rectangle(self.bar_left, y - height / 2, self.bar_left,
                                                y + height / 2, fill=OTHER, outline=""))
            self.percents.append(c.create_text(self.bar_left + self.bar_max + 4, y, text="",
                                               anchor="w", fill=TEXT))
        if conv:
            c.create_text(10, NETWORK_HEIGHT - 78, anchor="w", fill=TEXT,
                          text="first convolutional stage: feature maps")
            self.maps_item = c.create_image(10, NETWORK_HEIGHT - 66, anchor="nw")

    def _titles(self, xs: list[float], stages: list[Stage]) -> float:
        """Write each stage's title above its column, wrapped to the column's width.

        Returns the height the titles take, so the columns start below them:
        any depth of model, any font, and neighbours never overlap.
        """
        c = self.canvas
        width = max(40.0, (xs[1] - xs[0] if len(xs) > 1 else NETWORK_WIDTH / 3) - 6)
        items = []
        for x, stage in zip(xs, stages, strict=True):
            main, _, extras = stage.short_title.partition("\n")
            kind = "ch" if stage.conv else "units"
            text = f"{main}\n{stage.units} {kind}\n{extras}".strip()
            items.append(c.create_text(x, 4, text=text, fill=TEXT, justify="center", anchor="n",
                                       width=width, font=TITLE_FONT, tags="title"))
        return max((c.bbox(item)[3] for item in items), default=0)

    def _stage_column(self, x: float, top: float, bottom: float,
                      stage: Stage) -> tuple[float, list[float], float]:
        """Draw one stage's nodes; return where wires attach: left x, heights, right x."""
        c = self.canvas
        items = []
        if stage.units <= MAX_NODES:
            ys = np.linspace(top + 8, bottom - 8, stage.units) if stage.units > 1 else [
                (top + bottom) / 2]
            r = max(3.0, min(9.0, (bottom - top) / stage.units / 2 - 1))
            for y in ys:
                items.append(c.create_oval(x - r, y - r, x + r, y + r, fill=DIM, outline=LINE))
            attach = (x, list(ys), x)
        else:
            rows = min(GRID_ROWS, stage.units)
            cols = math.ceil(stage.units / rows)
            cell = max(2.0, min(9.0, (bottom - top) / rows))
            x0, y0 = x - cols * cell / 2, (top + bottom) / 2 - rows * cell / 2
            for i in range(stage.units):
                col, row = divmod(i, rows)
                items.append(c.create_rectangle(x0 + col * cell, y0 + row * cell,
                                                x0 + (col + 1) * cell - 1,
                                                y0 + (row + 1) * cell - 1, fill=DIM, outline=""))
            ys = [y0 + (i + 0.5) * rows * cell / 6 for i in range(6)]
            attach = (x0 - 1, ys, x0 + cols * cell)
        self.nodes.append(items)
        return attach

    # -- per update ---------------------------------------------------------------
    def show(self, seen: np.ndarray | None, result: Activations | None) -> None:
        """Light up the nodes and set the bars for one result (``None``: all dark)."""
        if self.state.model is None:
            return
        c = self.canvas
        self.input_photo.paste(glyph_picture(seen, 84, "L"))
        hidden = result.stages[:-1] if result else [None] * len(self.nodes)
        for items, values in zip(self.nodes, hidden, strict=True):
            colours = heat_rgb(_scaled(values)) if values is not None else None
            for i, item in enumerate(items):
                c.itemconfigure(item, fill=DIM if colours is None else _hex(colours[i]))
        probs = result.probabilities if result else np.zeros(len(self.bars))
        best = int(np.argmax(probs)) if result else -1
        for i, (bar, percent, label) in enumerate(zip(self.bars, self.percents, self.bar_labels,
                                                      strict=True)):
            x0, y0, _, y1 = c.coords(bar)
            c.coords(bar, x0, y0, x0 + self.bar_max * float(probs[i]), y1)
            c.itemconfigure(bar, fill=WINNER if i == best else OTHER)
            c.itemconfigure(percent, text=f"{100 * probs[i]:.1f}%" if result else "")
            c.itemconfigure(label, fill=WINNER if i == best else TEXT)
        if self.maps_item is not None:
            self.maps_photo = _maps_photo(result.feature_maps if result else None)
            c.itemconfigure(self.maps_item, image=self.maps_photo or "")


def _sample(points: list[float], count: int) -> list[float]:
    """At most ``count`` evenly spread items of ``points``."""
    if len(points) <= count:
        return points
    return [points[round(i)] for i in np.linspace(0, len(points) - 1, count)]


def glyph_picture(seen: np.ndarray | None, side: int, mode: str) -> Image.Image:
    """What the network sees (28, 28) in [0, 1], enlarged to ``side`` pixels (black if None)."""
    image = np.zeros((28, 28), np.uint8) if seen is None else np.round(seen * 255).astype(np.uint8)
    picture = Image.fromarray(image).resize((side, side), Image.Resampling.NEAREST)
    return picture.convert(mode)


def _maps_photo(maps: np.ndarray | None) -> ImageTk.PhotoImage | None:
    """The first feature maps side by side, each enlarged to 56 pixels, one shared scale."""
    if maps is None:
        return None
    maps = maps[:SHOWN_MAPS]
    scaled = heat_rgb(_scaled(maps))
    tiles = [Image.fromarray(tile).resize((56, 56), Image.Resampling.NEAREST) for tile in scaled]
    strip = Image.new("RGB", (len(tiles) * 62, 56), BACKGROUND)
    for i, tile in enumerate(tiles):
        strip.paste(tile, (i * 62, 0))
    return ImageTk.PhotoImage(strip)


class Reader:
    """Reads drawings on a thread of its own, the newest first: the window never waits.

    :meth:`ask` hands over a copy of the drawing and returns at once; a drawing asked
    for while another is being read replaces any still waiting (only the newest
    matters). :meth:`answer` gives the newest finished :class:`View`, once.
    """

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._lock = threading.Condition()
        self._waiting: tuple[np.ndarray, bool] | None = None
        self._answer: View | None = None
        self._asked = self._answered = 0
        self._closed = False
        threading.Thread(target=self._work, daemon=True, name="barenet-reader").start()

    def close(self) -> None:
        """End the reader's thread (the window is closing)."""
        with self._lock:
            self._closed = True
            self._lock.notify()

    @property
    def idle(self) -> bool:
        """Whether every drawing asked for has been read (and its answer taken or pending)."""
        with self._lock:
            return self._answered == self._asked

    def ask(self, drawing: np.ndarray, with_why: bool) -> None:
        with self._lock:
            self._waiting = (drawing.copy(), with_why)
            self._asked += 1
            self._lock.notify()

    def cancel(self) -> None:
        """Forget every drawing asked for: an answer still being worked out is dropped."""
        with self._lock:
            self._waiting, self._answer = None, None
            self._asked += 1
            self._answered = self._asked

    def answer(self) -> View | None:
        with self._lock:
            view, self._answer = self._answer, None
            return view

    def _work(self) -> None:
        while True:
            with self._lock:
                while self._waiting is None and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                (drawing, with_why), self._waiting = self._waiting, None
                number = self._asked
            try:
                view = self.state.read(drawing, with_why)
            except Exception as exc:  # a bug must not end the reader silently
                view = View(None, None, None, f"Could not read the drawing: {exc!r}")
            with self._lock:
                if number == self._asked:  # nothing newer was asked for meanwhile
                    self._answer, self._answered = view, number


class DrawApp:
    """The window: the drawing canvas, the preview and the network panel.

    Parameters
    ----------
    root : tkinter.Tk
    state : AppState
    """

    def __init__(self, root: tk.Tk, state: AppState) -> None:
        self.root, self.state = root, state
        self._pending: str | None = None
        root.title("barenet: draw a digit")
        root.resizable(False, False)
        panels = tk.Frame(root, padx=8, pady=8)
        panels.pack()

        draw = tk.LabelFrame(panels, text="Draw", padx=6, pady=6)
        draw.grid(row=0, column=0, sticky="n")
        self.canvas = tk.Canvas(draw, width=PANEL, height=PANEL, bg="black",
                                highlightthickness=0, cursor="pencil")
        self.canvas.pack()
        controls = tk.Frame(draw)
        controls.pack(fill="x", pady=(6, 0))
        self.brush = tk.Scale(controls, from_=MIN_BRUSH, to=MAX_BRUSH, orient="horizontal",
                              label="Brush width", command=self._set_brush, length=180)
        self.brush.set(state.board.brush)
        self.brush.pack(side="left")
        tk.Button(controls, text="Clear (C)", command=self.clear).pack(side="right", pady=(14, 0))

        sees = tk.LabelFrame(panels, text="Network sees", padx=6, pady=6)
        sees.grid(row=0, column=1, sticky="n", padx=8)
        self.preview = ImageTk.PhotoImage(Image.new("RGB", (PANEL, PANEL), 0))
        preview = tk.Canvas(sees, width=PANEL, height=PANEL, bg="black", highlightthickness=0)
        preview.create_image(0, 0, image=self.preview, anchor="nw")
        preview.pack()
        tk.Label(sees, text="28x28: ink cropped, scaled to 20 pixels\nand centred by its mass, "
                 "as in MNIST", justify="center").pack(pady=(6, 0))
        self.show_why = tk.BooleanVar(value=True)
        tk.Checkbutton(sees, text="why: orange for the answer, blue against",
                       variable=self.show_why, command=self.refresh).pack()

        net = tk.LabelFrame(panels, text="Network", padx=6, pady=6)
        net.grid(row=0, column=2, sticky="n")
        network_canvas = tk.Canvas(net, width=NETWORK_WIDTH, height=NETWORK_HEIGHT,
                                   bg=BACKGROUND, highlightthickness=0)
        network_canvas.pack()
        self.network = NetworkView(network_canvas, state)
        self.model_label = tk.Label(net, text=self._model_text(), anchor="w")
        self.model_label.pack(fill="x", pady=(6, 0))

        large = tkfont.nametofont("TkDefaultFont").copy()
        large.configure(size=12)
        self.status = tk.Label(panels, text=state.status, anchor="w", font=large)
        self.status.grid(row=1, column=0, columnspan=3, sticky="we", pady=(8, 0))
        self._teach_row(panels)

        self.canvas.bind("<ButtonPress-1>", self._press)
        self.canvas.bind("<B1-Motion>", self._motion)
        self.canvas.bind("<ButtonRelease-1>", self._release)
        for key in ("<KeyPress-c>", "<KeyPress-C>", "<Escape>", "<Delete>", "<BackSpace>"):
            root.bind(key, lambda _event: self.clear())
        for k, name in enumerate(self._labels()):
            if k < 10:  # key k: "it's a <class k>"
                root.bind(f"<KeyPress-{k}>", lambda _event, name=name: self.label_as(name))
        root.protocol("WM_DELETE_WINDOW", self.close)
        self.reader = Reader(state)
        self._watch_reader()
        self.refresh()

    def close(self) -> None:
        """Close the window and end the reader's thread."""
        self.reader.close()
        self.root.destroy()

    def _model_text(self, note: str = "") -> str:
        if self.state.model is None:
            return "no model loaded"
        return f"model: {self.state.model_path}{note}"

    def _labels(self) -> list[str]:
        return self.state.class_names or [str(d) for d in range(10)]

    def _teach_row(self, panels: tk.Frame) -> None:
        """Say which digit it was (buttons or keys 0-9), see the samples, teach the model."""
        row = tk.LabelFrame(panels, text=f"Teach it your handwriting (samples in "
                                         f"{self.state.samples})", padx=6, pady=6)
        row.grid(row=2, column=0, columnspan=3, sticky="we", pady=(8, 0))
        tk.Label(row, text="It's a:").grid(row=0, column=0, sticky="w")
        buttons = tk.Frame(row)
        buttons.grid(row=0, column=1, sticky="w")
        self.label_buttons = []
        for name in self._labels():
            button = tk.Button(buttons, text=name, width=1 if len(name) <= 2 else len(name),
                               padx=6, command=lambda name=name: self.label_as(name))
            button.pack(side="left", padx=1)
            self.label_buttons.append(button)
        tk.Button(row, text="Delete last sample", command=self.undo_sample).grid(
            row=0, column=2, padx=(8, 0))
        self.counts = tk.Label(row, text="", anchor="w", justify="left")
        self.counts.grid(row=1, column=0, columnspan=2, sticky="w", pady=(4, 0))
        controls = tk.Frame(row)
        controls.grid(row=1, column=2, sticky="e", pady=(4, 0))
        self.teach_button = tk.Button(controls, text="Teach", command=self.teach,
                                      state="normal" if self.state.model else "disabled")
        self.teach_button.pack(side="left")
        self.original_button = tk.Button(controls, text="Original model",
                                         command=self.use_original, state="disabled")
        self.original_button.pack(side="left", padx=4)
        self.teach_progress = ttk.Progressbar(controls, length=120, maximum=1.0)
        self.teach_progress.pack(side="left", padx=4)
        self.teacher = Teacher()
        self._show_counts()

    def _show_counts(self) -> None:
        counts = self.state.sample_counts()
        self.counts.configure(text="samples: " + "  ".join(f"{k}: {v}" for k, v in
                                                           counts.items()))

    def label_as(self, name: str) -> None:
        """"It's a <name>": save the drawing as a sample, then clear the board."""
        message = self.state.save_sample(name)
        saved = message.startswith("Saved")
        if saved:
            self.clear()
        self.status.configure(text=message)
        self._show_counts()

    def undo_sample(self) -> None:
        self.status.configure(text=self.state.undo_sample())
        self._show_counts()

    def teach(self) -> None:
        """Fine-tune the current model on the samples, in the background."""
        if self.state.model_path is None or self.teacher.busy:
            return
        try:
            self.teacher.start(self.state.original[1], self.state.samples)
        except BarenetError as exc:
            self.status.configure(text=str(exc))
            return
        self.teach_button.configure(state="disabled")
        self.status.configure(text="Teaching... (the window stays usable)")
        self.root.after(TEACH_POLL_MS, self._watch_lesson)

    def _watch_lesson(self) -> None:
        lesson = self.teacher.poll()
        if lesson is None:
            return
        self.teach_progress.configure(value=lesson.fraction)
        if not lesson.done:
            self.status.configure(text=f"Teaching... {lesson.fraction:.0%}")
            self.root.after(TEACH_POLL_MS, self._watch_lesson)
            return
        self.teach_button.configure(state="normal")
        if lesson.model is not None:
            self.state.use_model(lesson.model)
            self.original_button.configure(state="normal")
            self.model_label.configure(text=self._model_text(
                f" (taught; run folder {lesson.model.parent})"))
            self._read_again()
        self.status.configure(text=lesson.message)

    def use_original(self) -> None:
        self.status.configure(text=self.state.use_model(None))
        self.original_button.configure(state="disabled")
        self.teach_progress.configure(value=0)
        self.model_label.configure(text=self._model_text())
        self._read_again()

    def _read_again(self) -> None:
        """Ask the model now in use about the drawing, if there is one to ask about."""
        if not self.state.board.empty:
            self.refresh()

    # -- pointer -------------------------------------------------------------------
    def _press(self, event: tk.Event) -> None:
        board = self.state.board
        board.begin(event.x, event.y)
        r = board.brush / 2
        self.canvas.create_oval(event.x - r, event.y - r, event.x + r, event.y + r,
                                fill="white", outline="", tags="ink")
        self._schedule()

    def _motion(self, event: tk.Event) -> None:
        segment = self.state.board.extend(event.x, event.y)
        if segment is not None:
            self.canvas.create_line(*segment, width=self.state.board.brush, fill="white",
                                    capstyle="round", joinstyle="round", tags="ink")
            self._schedule()

    def _release(self, _event: tk.Event) -> None:
        self.state.board.end()
        self.refresh()

    def _set_brush(self, value: str) -> None:
        self.state.board.set_brush(int(float(value)))

    # -- recomputing -----------------------------------------------------------------
    def _schedule(self) -> None:
        """Recompute soon, at most once per UPDATE_MS while the pointer moves."""
        if self._pending is None:
            self._pending = self.root.after(UPDATE_MS, self.refresh)

    def refresh(self) -> None:
        """Hand the drawing to the reader now; its answer is shown when it arrives."""
        if self._pending is not None:
            self.root.after_cancel(self._pending)
            self._pending = None
        self.reader.ask(self.state.board.to_array(), self.show_why.get())

    def _watch_reader(self) -> None:
        """Show the reader's newest answer, if one has arrived; look again soon."""
        view = self.reader.answer()
        if view is not None:
            self.state.apply(view)
            self._redraw()
        self.root.after(READER_POLL_MS, self._watch_reader)

    def _redraw(self) -> None:
        """Show the state: the preview (with the why overlay if asked), the network, the status."""
        seen = self.state.seen
        why = self.state.reasons if self.show_why.get() else None
        if why is not None:
            picture = Image.fromarray(why, "RGB").resize((PANEL, PANEL), Image.Resampling.NEAREST)
        else:
            picture = glyph_picture(seen, PANEL, "RGB")
        self.preview.paste(picture)
        self.network.show(seen, self.state.result)
        self.status.configure(text=self.state.status)

    def clear(self) -> None:
        """Erase the drawing and reset every panel (at once: a blank board needs no network)."""
        self.canvas.delete("ink")
        self.state.board.clear()
        if self._pending is not None:
            self.root.after_cancel(self._pending)
            self._pending = None
        self.reader.cancel()
        self.state.apply(View(None, None, None, DRAW_PROMPT))
        self._redraw()


def main(model_path: Path | None) -> None:
    """Open the window and run until it is closed.

    Raises
    ------
    BarenetError
        No display to open a window on.
    """
    try:
        root = tk.Tk()
    except tk.TclError as exc:
        raise BarenetError(f"cannot open a window ({exc}); run `barenet draw` on a desktop "
                           "session or under a virtual screen such as Xvfb") from None
    DrawApp(root, AppState(model_path))
    root.mainloop()
