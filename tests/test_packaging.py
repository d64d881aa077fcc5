"""The built wheel carries the grammar: install it in a fresh venv and check an example there."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_checks_resnet50(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(ROOT)], check=True)
    (wheel,) = dist.glob("resgraph-*.whl")
    import zipfile

    assert "resgraph/grammar/resgraph.lark" in zipfile.ZipFile(wheel).namelist()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    # torch is not needed to check a file: install the wheel and the light dependencies only.
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--no-deps", str(wheel)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "lark", "networkx", "graphviz"], check=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    proc = subprocess.run([str(env_dir / "bin" / "resgraph"), "check",
                           str(ROOT / "examples" / "resnet50.rg")],
                          cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "25,557,032 params" in proc.stdout
    where = subprocess.run([str(py), "-c", "import resgraph; print(resgraph.__file__)"],
                           cwd=work, capture_output=True, text=True, check=True).stdout
    assert str(env_dir) in where
