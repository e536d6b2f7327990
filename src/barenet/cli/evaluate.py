"""``barenet evaluate``: test accuracy, per-class precision/recall/F1 and the confusion matrix."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BarenetError
from ..io import paths
from ..io.files import shown
from ..model.classifier import INFERENCE_BATCH, Sequential
from ..model.views import tta_description
from .arguments import positive_int

if TYPE_CHECKING:
    from ..data import Dataset

DEFAULT_DATASET = "mnist"
#: ``--model`` choices of a run folder -> file name.
RUN_MODELS = {"best": paths.BEST_MODEL, "final": paths.FINAL_MODEL}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", type=Path, metavar="MODEL",
                        help="a model file (.npz) or a run folder (its best.npz, else "
                             "model.npz); default: the newest model under runs/")
    parser.add_argument("--dataset", help="dataset to test on (default: the one the model "
                                          f"was trained on, else {DEFAULT_DATASET})")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="folder holding the dataset's IDX files (default: the folder the "
                             f"run was trained on, else ${paths.DATA_ENV}, the cache, or a "
                             "download)")
    parser.add_argument("--images", type=Path, metavar="DIR",
                        help="evaluate on a folder of pictures instead of a dataset, laid out "
                             "as <label>/<name>.png (photos, scans, the app's samples)")
    parser.add_argument("--mirror", action="store_true",
                        help="average each image's outputs with its mirror image's "
                             "(test-time augmentation for models trained with "
                             "augment.flip, as for clothes; wrong for digits)")
    parser.add_argument("--shift", action="store_true",
                        help="average each image's outputs with those of its four one-pixel "
                             "shifts (test-time augmentation for models trained with "
                             "augment.max_shift, as cnn.toml is)")
    parser.add_argument("--batch-size", type=positive_int, default=INFERENCE_BATCH,
                        help=f"images per forward pass (default {INFERENCE_BATCH})")


def model_in_run(run_dir: Path, which: str | None = None) -> Path:
    """The model file of a run folder: ``best.npz`` or ``model.npz``.

    Parameters
    ----------
    run_dir : Path
    which : {"best", "final"} or None
        None takes ``best.npz`` and falls back to ``model.npz``.

    Raises
    ------
    BarenetError
        The folder or the model file is missing, or the model file is a symbolic link
        (nothing inside a run folder is followed).
    """
    if not run_dir.is_dir():
        raise BarenetError(f"{run_dir}: no such run folder (runs are written by "
                           "`barenet train` into runs/)")
    names = [RUN_MODELS[which]] if which else list(RUN_MODELS.values())
    for name in names:
        if (run_dir / name).is_symlink():
            raise BarenetError(f"{run_dir / name} is a symbolic link, and barenet follows "
                               "none inside a run folder; give the model file itself")
        if (run_dir / name).is_file():
            return run_dir / name
    raise BarenetError(f"{run_dir}: no {' or '.join(names)} in this run folder; "
                       "did its training finish?")


def load_test_split(model: Sequential, dataset: str | None = None,
                    data_dir: str | os.PathLike | None = None,
                    model_path: Path | None = None) -> Dataset:
    """The test split of ``dataset`` (default: the model's), checked to fit the model.

    Prints a warning line on stderr when ``dataset`` differs from the one
    recorded in the model card's ``dataset``.

    Parameters
    ----------
    model : Sequential
    dataset : str or None
        Dataset name; None takes the model card's ``dataset``, else ``"mnist"``.
    data_dir : path-like or None
        Folder with the IDX files; None takes the folder the model's run was
        trained from (its ``data.json``) if it is still there, else lets
        :mod:`barenet.data` find them.
    model_path : Path or None
        The model file, to find its run folder.

    Returns
    -------
    barenet.data.Dataset
        ``test_images`` (N, 28, 28) uint8, ``test_labels`` (N,), ``class_names``.

    Raises
    ------
    BarenetError
        The images have a size the model does not take, or the dataset has a
        different number of classes than the model has outputs.
    """
    from ..data import load_dataset

    recorded = model.card.dataset
    name = dataset or recorded or DEFAULT_DATASET
    if data_dir is None and model_path is not None:
        from ..train.runs import RunFolder

        data_dir = RunFolder(model_path.parent).data_dir(name)
    data = load_dataset(name, data_dir)
    if recorded and recorded != name:
        print(f"barenet: warning: the model was trained on {recorded}; evaluating it on "
              f"{name}", file=sys.stderr)
    image_shape = data.test_images.shape[1:]
    if model.input_shape is not None:
        if math.prod(model.input_shape) != math.prod(image_shape):
            raise BarenetError(
                f"the model takes inputs of shape {model.input_shape} but {name} images are "
                f"{'x'.join(map(str, image_shape))}; evaluate it on the dataset it was "
                f"trained on ({recorded or 'not recorded'})")
        outputs = model.output_shape(model.input_shape)[-1]
        if outputs != data.num_classes:
            raise BarenetError(f"the model has {outputs} outputs but {name} has "
                               f"{data.num_classes} classes; evaluate it on the dataset it "
                               f"was trained on ({recorded or 'not recorded'})")
    return data


def resolve_model_path(path: Path | None) -> Path:
    """The model file meant by ``path``: itself, a run folder's, or the newest under runs/
    (said on stderr: after a new run, another model answers)."""
    if path is None:
        path = paths.latest_model()
        if path is None:
            raise BarenetError(f"no model given and none found under {paths.RUNS_DIR}/; "
                               "pass a model or train one with `barenet train`")
        print(f"barenet: using the newest model under {paths.RUNS_DIR}/, {shown(path)} "
              "(choose another with --model)", file=sys.stderr)
    elif path.is_dir():
        path = model_in_run(path)
    return path


def load_model(path: Path | None) -> tuple[Sequential, Path]:
    """The model at ``path`` (a file or a run folder), or the newest under runs/."""
    from ..model.load import load

    path = resolve_model_path(path)
    return load(path), path


def run(args: argparse.Namespace) -> int:
    from ..evaluation.metrics import (
        accuracy,
        confusion_matrix,
        format_classification_report,
        format_confusion_matrix,
    )
    from ..model.calibration import expected_calibration_error, is_unsure

    model, path = load_model(args.model)
    if args.images is not None:
        if args.dataset or args.data_dir:
            raise BarenetError("--images evaluates on a folder of pictures; drop --dataset "
                               "and --data-dir")
        from ..data.folder import read_folder

        pictures = read_folder(args.images, model.class_names, skip=True)
        for _, message in pictures.skipped:
            print(f"barenet: warning: left out {message}", file=sys.stderr)
        images, labels, names = pictures.images, pictures.labels, pictures.class_names
        source = f"{len(labels)} pictures in {args.images}, read as `barenet predict` reads them"
    else:
        data = load_test_split(model, args.dataset, args.data_dir, path)
        images, labels, names = data.test_images, data.test_labels, list(data.class_names)
        source = f"{data.name} test split, {len(labels)} images from {data.source}"
    logits = model.predict_logits(images, batch_size=args.batch_size, mirror=args.mirror,
                                  shift=args.shift)
    predicted = logits.argmax(axis=1)
    matrix = confusion_matrix(labels, predicted, len(names))
    correct = int(matrix.trace())
    print(f"model: {path}")
    print(f"data: {source}")
    views = tta_description(args.mirror, args.shift)
    views = f", each averaged with {views}" if views else ""
    print(f"test accuracy: {accuracy(labels, predicted):.2%} ({correct}/{len(labels)}{views})")
    raw = expected_calibration_error(model.probabilities(logits, calibrated=False), labels)
    calibrated = model.probabilities(logits)
    if model.card.calibrated:
        print(f"expected calibration error: {raw:.2%} before calibration, "
              f"{expected_calibration_error(calibrated, labels):.2%} after "
              f"(temperature {model.temperature:.3g})")
    else:
        print(f"expected calibration error: {raw:.2%} (the model file has no calibration; "
              "models trained by this barenet have one)")
    unsure = is_unsure(calibrated, model.min_confidence)
    right = predicted == labels
    print(f"not sure (below {model.min_confidence:.1%}): {unsure.mean():.2%} of the "
          f"images ({(unsure & right).sum()} of the "
          f"{right.sum()} right answers, {(unsure & ~right).sum()} of the "
          f"{(~right).sum()} wrong ones)")
    print()
    print(format_classification_report(matrix, names))
    print()
    print("confusion matrix (rows: true class, columns: predicted class)")
    print(format_confusion_matrix(matrix, names))
    return 0
