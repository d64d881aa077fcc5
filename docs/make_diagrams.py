"""Regenerate the diagrams committed under docs/ (needs Graphviz's ``dot``).

- ``docs/digits_resnet.svg``: the README's example, expanded;
- ``docs/resnet18.svg``: ResNet-18, collapsed (``basic(64) ×2``), residual edges bold;
- ``docs/densenet121.svg``: DenseNet-121, collapsed (the default at 428 nodes);
- ``docs/all_kinds.svg``: the example with all four connection kinds, expanded.

Run from anywhere: ``python docs/make_diagrams.py``.

>>> sorted(DIAGRAMS)
['all_kinds', 'densenet121', 'digits_resnet', 'resnet18']
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import resgraph  # noqa: E402

DIAGRAMS: dict[str, dict[str, object]] = {
    "digits_resnet": {},
    "resnet18": {"collapse": True},
    "densenet121": {},
    "all_kinds": {},
}
"""Example name → render options."""


def main() -> None:
    for name, options in DIAGRAMS.items():
        arch = resgraph.load(os.path.join(ROOT, "examples", f"{name}.rg"))
        out = os.path.join(ROOT, "docs", f"{name}.svg")
        arch.render(out, **options)
        print(f"wrote {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
