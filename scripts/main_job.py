"""The main job: check, analyse, draw, compile and briefly train ``examples/digits_resnet.rg``.

Run from the repository root after ``bash scripts/setup.sh``::

    .venv/bin/python scripts/main_job.py [--epochs 15] [--example examples/digits_resnet.rg]

Writes ``out/<name>.svg`` (the diagram) and ``out/<name>_pkg/`` (a standalone PyTorch
package), and prints the analysis and the test accuracy on the digits data set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resgraph.cli import main as resgraph

ROOT = Path(__file__).resolve().parent.parent


def step(title: str, argv: list[str]) -> None:
    print(f"\n== {title}: resgraph {' '.join(argv)}", flush=True)
    code = resgraph(argv)
    if code != 0:
        sys.exit(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="examples/digits_resnet.rg")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    example = args.example
    name = Path(example).stem
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    step("check", ["check", example])
    step("analyse", ["analyze", example])
    step("draw", ["render", example, "-o", str(out / f"{name}.svg")])
    print(f"diagram written to {out / f'{name}.svg'}")
    step("compile", ["compile", example, "-o", str(out / f"{name}_pkg")])
    print(f"standalone PyTorch package written to {out / f'{name}_pkg'}")
    step("train", ["train", example, "--epochs", str(args.epochs), "--no-progress"])


if __name__ == "__main__":
    main()
