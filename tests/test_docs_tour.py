"""docs/tour.ipynb runs top to bottom, in a real Jupyter kernel, without an error."""

from pathlib import Path

import pytest
from conftest import REAL_MNIST

nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed: "
                               "pip install -e '.[test]'")
nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed: "
                               "pip install -e '.[test]'")
pytest.importorskip("ipykernel", reason="ipykernel is not installed: pip install -e '.[test]'")

TOUR = Path(__file__).resolve().parents[1] / "docs" / "tour.ipynb"


def test_the_tour_runs_top_to_bottom(tmp_path, monkeypatch):
    if not REAL_MNIST.is_dir():
        pytest.skip(f"the MNIST files are not in {REAL_MNIST}")
    monkeypatch.setenv("BARENET_DATA", str(REAL_MNIST))  # the kernel inherits it
    notebook = nbformat.read(TOUR, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    text = "\n".join(output.get("text", "") for cell in notebook.cells
                     for output in cell.get("outputs", []))
    assert "passed: False" in text  # the wrong backward was caught
    assert "epoch 3: loss" in text and "test accuracy" in text
    images = sum("image/png" in output.get("data", {}) for cell in notebook.cells
                 for output in cell.get("outputs", []))
    assert images >= 7  # two loss curves, three run plots, the stages, the explanation
    assert (tmp_path / "tour-run" / "best.npz").is_file()
