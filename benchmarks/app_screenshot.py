"""Draw docs/app.png: the draw-a-digit app on a virtual screen, a digit drawn in it.

    python benchmarks/app_screenshot.py --model runs/cnn-.../best.npz

Needs Xvfb (``apt-get install xvfb``) and Tk. The digit is an MNIST test digit traced
as pointer strokes on the app's canvas (real Tk events), so the picture shows the app
as it is today: the drawing, what the network sees and why, every layer, the bars, the
teaching row.
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from skimage.morphology import skeletonize

from barenet.data import load_dataset


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """A virtual screen on a free display number: the server and ``":N"``."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1400x900x24",
                               "-nolisten", "tcp"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=tempfile.TemporaryFile())
    os.close(write)
    number = b""
    deadline = time.monotonic() + 20
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read], [], [], 1.0)
        number += os.read(read, 16) if ready else b""
    os.close(read)
    return server, f":{number.decode().strip()}"


def strokes(digit: np.ndarray, side: int) -> list[list[tuple[float, float]]]:
    """The digit's centre line as pointer paths on a ``side``-pixel canvas: skeleton
    pixels joined to their nearest unvisited neighbour, a new stroke at each jump."""
    skeleton = np.argwhere(skeletonize(digit > 100)).astype(float)
    scale, offset = side / 28 * 0.8, side * 0.1
    points = [(offset + x * scale, offset + y * scale) for y, x in skeleton]
    paths: list[list[tuple[float, float]]] = []
    left = list(points)
    while left:
        path = [left.pop(0)]
        while left:
            distances = [np.hypot(p[0] - path[-1][0], p[1] - path[-1][1]) for p in left]
            nearest = int(np.argmin(distances))
            if distances[nearest] > 2.5 * scale:
                break
            path.append(left.pop(nearest))
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--index", type=int, default=0, help="which MNIST test digit to draw")
    parser.add_argument("--out", type=Path, default=Path("docs/app.png"))
    args = parser.parse_args()
    digit = load_dataset("mnist", args.data_dir).test_images[args.index]
    server, display = start_xvfb()
    try:
        import tkinter as tk

        from PIL import ImageGrab

        from barenet.app.state import AppState
        from barenet.app.window import PANEL, DrawApp

        root = tk.Tk(screenName=display)
        app = DrawApp(root, AppState(args.model))

        def pump(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                root.update()
                time.sleep(0.005)

        pump(1.0)
        for path in strokes(digit, PANEL):
            app.canvas.event_generate("<ButtonPress-1>", x=round(path[0][0]),
                                      y=round(path[0][1]))
            for x, y in path[1:]:
                app.canvas.event_generate("<B1-Motion>", x=round(x), y=round(y))
                pump(0.005)
            app.canvas.event_generate("<ButtonRelease-1>", x=round(path[-1][0]),
                                      y=round(path[-1][1]))
        deadline = time.monotonic() + 30
        while not app.reader.idle and time.monotonic() < deadline:
            pump(0.05)
        pump(0.5)
        x, y = root.winfo_rootx(), root.winfo_rooty()
        shot = ImageGrab.grab(bbox=(x, y, x + root.winfo_width(), y + root.winfo_height()),
                              xdisplay=display)
        shot.save(args.out)
        print(f"{args.out}: {app.status.cget('text')}")
        app.close()
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
