"""A small Vision Transformer learns the digits (issue 13, acceptance 5).

examples/vit.rg's ``vit_b_16`` with its sizes set down (``channels=1`` for the grey 8×8
digits, 2×2 patches: 16 tokens and the class token, d 64, 2 layers of 4 heads, MLP 128,
10 classes; 69,194 parameters) trains with ``resgraph train`` to at least 90% test accuracy.
The same run from the command line::

    resgraph train examples/vit.rg -n vit_b_16 --set channels=1 --set size=8 --set patch=2 \\
        --set d=64 --set layers=2 --set heads=4 --set mlp=128 --set classes=10 \\
        --epochs 20 --lr 0.003 --seed 0

reaches 96.1% test accuracy (seeds 1 to 4: 94.4%, 96.1%, 96.1%, 96.9%), in about 7 s of training
on one CPU thread.
"""

from __future__ import annotations

from pathlib import Path

import resgraph
from resgraph.lower.train import train

VIT = Path(__file__).resolve().parent.parent / "examples" / "vit.rg"
DIGITS_VIT = {"channels": 1, "size": 8, "patch": 2, "d": 64, "layers": 2, "heads": 4,
              "mlp": 128, "classes": 10}


def test_small_vit_learns_the_digits() -> None:
    arch = resgraph.load(str(VIT), network="vit_b_16", **DIGITS_VIT)
    assert next(iter(arch.inputs.values())) == (1, 8, 8)
    result = train(arch, epochs=20, lr=3e-3, batch_size=64, seed=0, progress=False,
                   log=lambda _: None)
    assert result["test_accuracy"] >= 0.90, result["test_accuracies"]
    assert result["train_losses"][-1] < result["train_losses"][0] / 10
