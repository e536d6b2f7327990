"""``barenet export``: a model in another format, for where the work goes next.

``--format onnx`` writes an ONNX graph (:mod:`barenet.model.onnx`) that gives
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
                        help="where to write, a new file (default: beside the model, "
                             "runs/NAME/best.npz -> runs/NAME/best.onnx, or best-2.onnx... if "
                             "that is taken)")


def run(args: argparse.Namespace) -> int:
    """Write the ONNX file, never over an existing one, and say where it went."""
    from ..errors import BarenetError
    from ..io.files import ensure_writable_dir, shown, write_beside
    from ..model.load import load
    from ..model.onnx import export_onnx, to_onnx

    model_path = resolve_model_path(args.model)
    model = load(model_path)
    if args.out is None:
        out = write_beside(model_path.parent, model_path.stem, ".onnx",
                           to_onnx(model).SerializeToString())
    else:
        if args.out.is_dir():
            raise BarenetError(f"--out {shown(args.out)} is a folder; give a file name such as "
                               f"{shown(args.out / 'model.onnx')}")
        ensure_writable_dir(args.out.parent if str(args.out.parent) else Path("."),
                            "output folder", "choose another --out")
        export_onnx(model, args.out)
        out = args.out
    print(f"{shown(out)}: ONNX (opset 17) of {shown(model_path)}; input 'image' float32 "
          f"(N, 1, 28, 28) in [0, 1], outputs 'logits' and 'probabilities' over "
          f"{len(model.class_names)} classes")
    return 0
