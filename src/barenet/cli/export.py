"""``barenet export``: a model in another format, for where the work goes next.

``--format onnx`` writes an ONNX graph (:mod:`barenet.io.export_onnx`) that gives
the probabilities ``predict`` gives, for onnxruntime, a web page or a phone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .evaluate import resolve_model_path

FORMATS = ("onnx",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, nargs="?", metavar="MODEL_OR_RUN",
                        help="model file or run folder (default: the newest model under runs/)")
    parser.add_argument("--format", choices=FORMATS, default="onnx",
                        help="what to write (default onnx: opset 17, input 'image' float32 "
                             "(N, 1, 28, 28) in [0, 1], outputs 'logits' and 'probabilities')")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="where to write (default: <run or model name>.onnx in the "
                             "current folder)")


def default_out(model_path: Path) -> Path:
    """``runs/cnn0/best.npz`` -> ``cnn0.onnx``; ``mine.npz`` -> ``mine.onnx``."""
    stem = model_path.parent.name if model_path.stem in ("best", "model") else model_path.stem
    return Path(f"{stem or 'model'}.onnx")


def run(args: argparse.Namespace) -> int:
    from ..errors import BarenetError
    from ..io.export_onnx import export_onnx, to_onnx
    from ..io.files import ensure_writable_dir
    from ..io.model_loader import load

    model_path = resolve_model_path(args.model)
    model = load(model_path)
    to_onnx(model)  # refuses an unsupported model before anything is written
    out = args.out or default_out(model_path)
    if out.is_dir():
        raise BarenetError(f"--out {out} is a folder; give a file name such as {out}/model.onnx")
    ensure_writable_dir(out.parent if str(out.parent) else Path("."), "output folder",
                        "choose another --out")
    export_onnx(model, out)
    print(f"{out}: ONNX (opset 17) of {model_path}; input 'image' float32 (N, 1, 28, 28) in "
          f"[0, 1], outputs 'logits' and 'probabilities' over {len(model.class_names)} classes")
    return 0
