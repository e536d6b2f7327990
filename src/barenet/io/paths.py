"""Every default location barenet reads or writes, in one place."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Environment variable naming a folder that holds dataset files.
DATA_ENV = "BARENET_DATA"
#: Environment variable overriding the cache folder.
CACHE_ENV = "BARENET_CACHE"
#: Where Debian's dataset-fashion-mnist package installs its files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
#: Default folder for training runs, relative to the working directory.
RUNS_DIR = Path("runs")
#: Folder holding the shipped configs (inside the source tree / package).
CONFIGS_DIR = Path(__file__).resolve().parent.parent / "configs"


def cache_dir() -> Path:
    """The per-user cache folder (``~/.cache/barenet`` on Linux)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "barenet"


#: Environment variable overriding the folder of the user's own data (samples).
HOME_ENV = "BARENET_HOME"


def user_data_dir() -> Path:
    """The user's barenet data folder (``~/.local/share/barenet`` on Linux)."""
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "barenet"


def samples_dir() -> Path:
    """Where the app saves the user's labelled drawings: ``<user data>/samples/<label>/``."""
    return user_data_dir() / "samples"


def dataset_cache_dir(dataset: str) -> Path:
    """The cache folder for one dataset's files."""
    return cache_dir() / dataset


#: Inside a run folder: the model kept (by default the best by validation accuracy), and the
#: final one.
BEST_MODEL = "best.npz"
FINAL_MODEL = "model.npz"


def latest_model(runs_dir: Path = RUNS_DIR) -> Path | None:
    """The most recently written ``best.npz`` (else ``model.npz``) under ``runs_dir``."""
    candidates = [p for name in (BEST_MODEL, FINAL_MODEL) for p in Path(runs_dir).glob(f"*/{name}")]
    return max(candidates, key=lambda p: p.stat().st_mtime, default=None)
