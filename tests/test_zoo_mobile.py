"""The mobile and modern CNN zoo (issue 12): MobileNetV2/V3, MnasNet, EfficientNet B0-B7 and
V2, RegNet X/Y and ConvNeXt against published figures and the independent references in
tests/reference.

- Every network: the analysis' parameter count equals torchvision's published ``num_params``
  and its MACs are within 1% of the published GFLOPS (``_ops``), at the published input size
  (EfficientNet B0-B7 each at its own). Analysis only: regnet_y_128gf (645M parameters, 375
  GMACs at 384x384) and efficientnet_b7 are never compiled at full size here.
- One network per family (and per block type): compiled, it loads the reference's
  ``state_dict`` with ``strict=True`` after its batch-norm statistics, norm affines and
  ConvNeXt layer scales are randomised (so no branch hides behind a 1e-6 scale or zero
  statistics), matches it within 1e-5 in eval mode at a small input, and every parameter
  gets a gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

import resgraph
from tests.parity import assert_parity
from tests.reference import convnext as ref_convnext
from tests.reference import efficientnet as ref_efficientnet
from tests.reference import mnasnet as ref_mnasnet
from tests.reference import mobilenet as ref_mobilenet
from tests.reference import regnet as ref_regnet

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# torchvision 0.28's published metadata for each network's DEFAULT weights:
# (example file, meta["num_params"], meta["_ops"] in GFLOPS, transforms' crop size).
# regnet_y_128gf's DEFAULT is the SWAG end-to-end checkpoint, at 384x384.
PUBLISHED: dict[str, tuple[str, int, float, int]] = {
    "mobilenet_v2": ("mobilenet.rg", 3_504_872, 0.301, 224),
    "mobilenet_v3_large": ("mobilenet.rg", 5_483_032, 0.217, 224),
    "mobilenet_v3_small": ("mobilenet.rg", 2_542_856, 0.057, 224),
    "mnasnet0_5": ("mnasnet.rg", 2_218_512, 0.104, 224),
    "mnasnet0_75": ("mnasnet.rg", 3_170_208, 0.215, 224),
    "mnasnet1_0": ("mnasnet.rg", 4_383_312, 0.314, 224),
    "mnasnet1_3": ("mnasnet.rg", 6_282_256, 0.526, 224),
    "efficientnet_b0": ("efficientnet.rg", 5_288_548, 0.386, 224),
    "efficientnet_b1": ("efficientnet.rg", 7_794_184, 0.687, 240),
    "efficientnet_b2": ("efficientnet.rg", 9_109_994, 1.088, 288),
    "efficientnet_b3": ("efficientnet.rg", 12_233_232, 1.827, 300),
    "efficientnet_b4": ("efficientnet.rg", 19_341_616, 4.394, 380),
    "efficientnet_b5": ("efficientnet.rg", 30_389_784, 10.266, 456),
    "efficientnet_b6": ("efficientnet.rg", 43_040_704, 19.068, 528),
    "efficientnet_b7": ("efficientnet.rg", 66_347_960, 37.746, 600),
    "efficientnet_v2_s": ("efficientnet_v2.rg", 21_458_488, 8.366, 384),
    "efficientnet_v2_m": ("efficientnet_v2.rg", 54_139_356, 24.582, 480),
    "efficientnet_v2_l": ("efficientnet_v2.rg", 118_515_272, 56.08, 480),
    "regnet_x_400mf": ("regnet.rg", 5_495_976, 0.414, 224),
    "regnet_x_800mf": ("regnet.rg", 7_259_656, 0.8, 224),
    "regnet_x_1_6gf": ("regnet.rg", 9_190_136, 1.603, 224),
    "regnet_x_3_2gf": ("regnet.rg", 15_296_552, 3.177, 224),
    "regnet_x_8gf": ("regnet.rg", 39_572_648, 7.995, 224),
    "regnet_x_16gf": ("regnet.rg", 54_278_536, 15.941, 224),
    "regnet_x_32gf": ("regnet.rg", 107_811_560, 31.736, 224),
    "regnet_y_400mf": ("regnet.rg", 4_344_144, 0.402, 224),
    "regnet_y_800mf": ("regnet.rg", 6_432_512, 0.834, 224),
    "regnet_y_1_6gf": ("regnet.rg", 11_202_430, 1.612, 224),
    "regnet_y_3_2gf": ("regnet.rg", 19_436_338, 3.176, 224),
    "regnet_y_8gf": ("regnet.rg", 39_381_472, 8.473, 224),
    "regnet_y_16gf": ("regnet.rg", 83_590_140, 15.912, 224),
    "regnet_y_32gf": ("regnet.rg", 145_046_770, 32.28, 224),
    "regnet_y_128gf": ("regnet.rg", 644_812_894, 374.57, 384),
    "convnext_tiny": ("convnext.rg", 28_589_128, 4.456, 224),
    "convnext_small": ("convnext.rg", 50_223_688, 8.684, 224),
    "convnext_base": ("convnext.rg", 88_591_464, 15.355, 224),
    "convnext_large": ("convnext.rg", 197_767_336, 34.361, 224),
}


def load(name: str, size: int | None = None, classes: int = 1000) -> resgraph.Architecture:
    """A network of the zoo by name, from its family file (at its published size by default)."""
    file, _, _, published = PUBLISHED[name]
    return resgraph.load(str(EXAMPLES / file), network=name, size=size or published,
                         classes=classes)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_params_and_macs(name: str) -> None:
    _, params, gflops, size = PUBLISHED[name]
    arch = load(name)
    assert next(iter(arch.inputs.values())) == (3, size, size)
    rep = arch.analyze(distributions=False)
    assert rep.params == params
    assert abs(rep.macs - gflops * 1e9) <= 0.01 * gflops * 1e9, rep.macs


# ---------------------------------------------------------------- one network per family


def randomise(model: nn.Module, seed: int = 1) -> None:
    """Random norm statistics and affines, and layer scales of order 1 (not 1e-6)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                mean, var = m.running_mean, m.running_var
                assert isinstance(mean, torch.Tensor) and isinstance(var, torch.Tensor)
                mean.copy_(torch.randn(mean.shape, generator=gen) * 0.1)
                var.copy_(torch.rand(var.shape, generator=gen) + 0.5)
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                w, b = m.weight, m.bias
                assert isinstance(w, torch.Tensor) and isinstance(b, torch.Tensor)
                w.copy_(torch.rand(w.shape, generator=gen) + 0.5)
                b.copy_(torch.randn(b.shape, generator=gen) * 0.1)
        for name, p in model.named_parameters():
            if name.endswith("layer_scale"):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)


FAMILIES: list[tuple[str, Callable[[int], nn.Module], int]] = [
    ("mobilenet_v2", ref_mobilenet.mobilenet_v2, 64),
    ("mobilenet_v3_large", ref_mobilenet.mobilenet_v3_large, 64),
    ("mnasnet0_75", ref_mnasnet.mnasnet0_75, 64),
    ("efficientnet_b0", ref_efficientnet.efficientnet_b0, 64),
    ("efficientnet_v2_s", ref_efficientnet.efficientnet_v2_s, 64),
    ("regnet_x_400mf", ref_regnet.regnet_x_400mf, 64),
    ("regnet_y_400mf", ref_regnet.regnet_y_400mf, 64),
    ("convnext_tiny", ref_convnext.convnext_tiny, 64),
]


@pytest.mark.parametrize(("name", "build", "size"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_family_matches_reference(name: str, build: Callable[[int], nn.Module],
                                  size: int) -> None:
    torch.manual_seed(0)
    theirs = build(10)
    randomise(theirs)
    gm = load(name, size=size, classes=10).compile()
    assert list(gm.state_dict()) == list(theirs.state_dict())
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    assert_parity(gm, theirs, x, every_grad_nonzero=False)


def drop_rates(name: str) -> list[float]:
    """The stochastic-depth rates of a network's residual merges, in order."""
    g = load(name).graph
    return [d["args"]["drop_path"] for _, d in g.nodes(data=True)
            if d["args"].get("drop_path")]


def test_stochastic_depth_grows_with_the_block_index() -> None:
    # torchvision: rate = sd * k / blocks for block k; only blocks with a residual use it.
    b0 = [0.2 * k / 16 for k in (2, 4, 6, 7, 9, 10, 12, 13, 14)]
    assert drop_rates("efficientnet_b0") == pytest.approx(b0)
    # ConvNeXt: sd * k / (blocks - 1), every block residual (the first has rate 0).
    tiny = [0.1 * k / 17 for k in range(1, 18)]
    assert drop_rates("convnext_tiny") == pytest.approx(tiny)
