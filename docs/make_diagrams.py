"""Regenerate the diagrams committed under docs/ (needs Graphviz's ``dot``).

- ``docs/digits_resnet.svg``: the README's example, in the default view;
- ``docs/resnet18.svg``: ResNet-18, collapsed (runs of identical blocks drawn once);
- ``docs/densenet121.svg``: DenseNet-121 (``examples/densenet.rg``), in the default view;
- ``docs/all_kinds.svg``: the example with every connection kind, expanded.

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

DIAGRAMS: dict[str, tuple[str, str | None, dict[str, object]]] = {
    "digits_resnet": ("digits_resnet", None, {}),
    "resnet18": ("resnet18", None, {"collapse": True}),
    "densenet121": ("densenet", "densenet121", {}),
    "all_kinds": ("all_kinds", None, {"collapse": False}),
}
"""Diagram name → (example file, network in it, render options)."""


def main() -> None:
    for name, (file, network, options) in DIAGRAMS.items():
        arch = resgraph.load(os.path.join(ROOT, "examples", f"{file}.rg"), network=network)
        out = os.path.join(ROOT, "docs", f"{name}.svg")
        arch.render(out, **options)
        print(f"wrote {os.path.relpath(out, ROOT)}")


if __name__ == "__main__":
    main()
