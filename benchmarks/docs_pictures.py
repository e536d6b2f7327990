"""Draw docs/pictures/*.png: every stage of the picture pipeline on rendered photos.

    python benchmarks/docs_pictures.py --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenes  # noqa: E402

from barenet.data import load_dataset  # noqa: E402
from barenet.evaluation.plots import plot_stages  # noqa: E402

#: (condition, MNIST test index) for each figure.
FIGURES = [("phone_photo", 0), ("uneven_light", 1), ("shadow", 2), ("ruled", 3), ("squared", 4),
           ("pencil", 5), ("light_on_dark", 6), ("finger", 7), ("small_in_large", 8)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--out", type=Path, default=Path("docs/pictures"))
    args = parser.parse_args()
    dataset = load_dataset("mnist", args.data_dir)
    for condition, index in FIGURES:
        rng = np.random.default_rng(index)
        picture, _ = scenes.render_digit(dataset.test_images[index], rng, condition)
        path = plot_stages(picture, args.out / f"{condition}.png")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
