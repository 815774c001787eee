"""One source of truth for pins: the layer's requirements are pyproject.toml's, regenerated."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_layer_requirements_are_generated_from_pyproject():
    check = subprocess.run([sys.executable, str(ROOT / "layers" / "requirements.py"), "--check"],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_every_dependency_is_pinned_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lists = [project["dependencies"], *project["optional-dependencies"].values()]
    pins = [p for group in lists for p in group if not p.startswith("ragchat[")]
    assert all("==" in p for p in pins), [p for p in pins if "==" not in p]
    names = [p.split("==")[0].split("[")[0].lower() for p in pins]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
