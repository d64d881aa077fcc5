"""The Vision Transformer family (issue 13): examples/vit.rg against published figures and the
independent reference in tests/reference/vit.py.

- Every network: the analysis' parameter count equals torchvision's published ``num_params``
  and its MACs are within 1% of the published GFLOPS (``_ops``) at the DEFAULT weights' input
  size (vit_h_14's DEFAULT, IMAGENET1K_SWAG_E2E_V1, is at 518×518). Analysis only. The
  published figures count the attention matmuls QKᵀ and AV (2·T²·d per layer): resgraph's
  convention matches them to 0.005%, while leaving the matmuls out would miss vit_h_14 by 15%.
- One small configuration (``--set`` sizes down): compiled, it loads the reference's
  randomised ``state_dict`` with ``strict=True`` (position embedding, class token and norm
  affines randomised), matches it within 1e-5 in eval, and every parameter gets a gradient.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import resgraph
from tests.parity import assert_parity
from tests.reference import vit as ref_vit

VIT = Path(__file__).resolve().parent.parent / "examples" / "vit.rg"

# torchvision 0.28's published metadata for each network's DEFAULT weights:
# (meta["num_params"], meta["_ops"] in GFLOPS, transforms' crop size).
PUBLISHED: dict[str, tuple[int, float, int]] = {
    "vit_b_16": (86_567_656, 17.564, 224),
    "vit_b_32": (88_224_232, 4.409, 224),
    "vit_l_16": (304_326_632, 61.555, 224),
    "vit_l_32": (306_535_400, 15.378, 224),
    "vit_h_14": (633_470_440, 1016.717, 518),
}

SMALL = {"size": 32, "patch": 8, "d": 64, "layers": 2, "heads": 4, "mlp": 128, "classes": 10}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_params_and_macs(name: str) -> None:
    params, gflops, size = PUBLISHED[name]
    arch = resgraph.load(str(VIT), network=name)
    assert next(iter(arch.inputs.values())) == (3, size, size)
    rep = arch.analyze(distributions=False)
    assert rep.params == params
    assert abs(rep.macs - gflops * 1e9) <= 0.01 * gflops * 1e9, rep.macs
    # without the two attention matmuls the figure would be short by 2·T²·d per layer
    t, d = (size // int(name.rsplit("_", 1)[1])) ** 2 + 1, arch.hparams["d"]
    matmuls = 2 * t * t * d * arch.hparams["layers"]
    assert rep.macs - matmuls < gflops * 1e9 * 0.99 or matmuls < 0.01 * gflops * 1e9


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_keys_and_shapes_equal_the_reference(name: str) -> None:
    size = PUBLISHED[name][2]
    gm = resgraph.load(str(VIT), network=name).compile(device="meta")
    with torch.device("meta"):
        theirs = getattr(ref_vit, name)(1000, size)
    assert [(k, tuple(v.shape)) for k, v in gm.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


def randomise(model: nn.Module, seed: int = 1) -> None:
    """Random position embedding, class token, norm affines and attention biases."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in ("class_token", "encoder.pos_embedding") or "ln" in name \
                    or name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5 + (name.endswith("weight")))


def test_small_vit_matches_reference() -> None:
    torch.manual_seed(0)
    theirs = ref_vit.VisionTransformer(SMALL["size"], SMALL["patch"], SMALL["layers"],
                                       SMALL["heads"], SMALL["d"], SMALL["mlp"], SMALL["classes"])
    randomise(theirs)
    assert theirs.class_token.abs().min() > 0
    arch = resgraph.load(str(VIT), network="vit_b_16", **SMALL)
    assert arch.num_params == sum(p.numel() for p in theirs.parameters())
    gm = arch.compile()
    assert list(gm.state_dict()) == list(theirs.state_dict())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    assert_parity(gm, theirs, x)


def test_every_network_shares_one_form() -> None:
    """The five networks differ only in their defaults; --set moves one into another."""
    b16 = resgraph.load(str(VIT), network="vit_b_16", patch=32)
    assert b16.analyze(distributions=False).params == PUBLISHED["vit_b_32"][0]
    h14 = resgraph.load(str(VIT), network="vit_h_14")
    assert h14.hparams["size"] == 518
