"""The README stays a guide: short, its links alive, its notebook command the notebook's."""

import json
import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_read_in_five_minutes():
    assert len(README.splitlines()) <= 260  # issue 33: a guide of about 250 lines


def test_every_file_the_readme_links_to_exists():
    links = re.findall(r"\]\(([^)#:]+)\)", README)
    assert links, "the README links to its docs"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing


def test_the_notebook_opens_with_the_readmes_command():
    command = re.search(r'pip install -e "\.\[notebook\]" && [^`\n]*jupyter lab docs/tour\.ipynb',
                        README)
    assert command is not None
    notebook = json.loads((ROOT / "docs" / "tour.ipynb").read_text(encoding="utf-8"))
    assert command.group(0) in "".join(notebook["cells"][0]["source"])
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert any(dep.startswith("jupyterlab") for dep in extras["notebook"])
