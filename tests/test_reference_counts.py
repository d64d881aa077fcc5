"""The hand-written references in tests/reference match the published parameter counts.

The large models are built on the meta device, so the whole file runs in seconds.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from tests import reference as ref

# (model id, constructor, published parameter count)
PUBLISHED: list[tuple[str, Callable[[], nn.Module], int]] = [
    ("resnet18", ref.resnet18, 11_689_512),
    ("resnet34", ref.resnet34, 21_797_672),
    ("resnet50", ref.resnet50, 25_557_032),
    ("resnet101", ref.resnet101, 44_549_160),
    ("resnet152", ref.resnet152, 60_192_808),
    ("densenet121", ref.densenet121, 7_978_856),
    ("densenet169", ref.densenet169, 14_149_480),
    ("densenet201", ref.densenet201, 20_013_928),
    ("cifar_resnet20", lambda: ref.cifar_resnet(3), 269_722),
    ("cifar_resnet56", lambda: ref.cifar_resnet(9), 853_018),
    ("cifar_resnet110", lambda: ref.cifar_resnet(18), 1_727_962),
    ("cifar_resnet1202", lambda: ref.cifar_resnet(200), 19_421_274),
    ("preact_resnet164", lambda: ref.preact_resnet(18), 1_703_258),
    ("preact_resnet1001", lambda: ref.preact_resnet(111), 10_327_706),
    ("densenet_bc_100_12", lambda: ref.densenet_bc(100, 12), 769_162),
    # GPT-2 small, its head tied to the token embedding (counted once), and untied.
    ("gpt2", ref.gpt2, 124_439_808),
    ("gpt2_untied", lambda: ref.gpt2(tied=False), 124_439_808 + 50257 * 768),
]


def count_params(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    ("build", "expected"), [p[1:] for p in PUBLISHED], ids=[p[0] for p in PUBLISHED]
)
def test_published_param_count(build: Callable[[], nn.Module], expected: int) -> None:
    with torch.device("meta"):
        model = build()
    assert count_params(model) == expected


def test_resnet_state_dict_keys_follow_torchvision() -> None:
    with torch.device("meta"):
        keys = list(ref.resnet50().state_dict())
    assert keys[:6] == [
        "conv1.weight",
        "bn1.weight",
        "bn1.bias",
        "bn1.running_mean",
        "bn1.running_var",
        "bn1.num_batches_tracked",
    ]
    assert "layer1.0.downsample.0.weight" in keys
    assert "layer2.0.downsample.1.running_var" in keys
    assert "layer2.1.downsample.0.weight" not in keys
    assert keys[-2:] == ["fc.weight", "fc.bias"]
    assert len(keys) == 320  # torchvision's resnet50 state_dict has 320 entries


@pytest.mark.parametrize(
    ("build", "shape", "out"),
    [
        (lambda: ref.cifar_resnet(3), (2, 3, 32, 32), (2, 10)),
        (lambda: ref.preact_resnet(2), (2, 3, 32, 32), (2, 10)),
        (lambda: ref.densenet_bc(40, 12), (2, 3, 32, 32), (2, 10)),
        (lambda: ref.highway_mlp(d=16, layers=3), (2, 64), (2, 10)),
        (lambda: ref.DenseBlock(8, growth=4, layers=3), (2, 8, 6, 6), (2, 20, 6, 6)),
    ],
    ids=["cifar_resnet20", "preact_resnet20", "densenet_bc_40", "highway_mlp", "dense_block"],
)
def test_small_references_run(
    build: Callable[[], nn.Module], shape: tuple[int, ...], out: tuple[int, ...]
) -> None:
    torch.manual_seed(0)
    model = build().eval()
    with torch.no_grad():
        y = model(torch.randn(shape))
    assert tuple(y.shape) == out
    assert torch.isfinite(y).all()


def test_gpt2_reference_is_causal() -> None:
    torch.manual_seed(0)
    model = ref.gpt2(vocab=50, ctx=8, d=16, heads=2, layers=2).eval()
    tokens = torch.randint(0, 50, (1, 8))
    changed = tokens.clone()
    changed[0, -1] = (tokens[0, -1] + 1) % 50
    with torch.no_grad():
        a, b = model(tokens), model(changed)
    assert a.shape == (1, 8, 50)
    torch.testing.assert_close(a[:, :-1], b[:, :-1])
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_highway_gate_bias() -> None:
    model = ref.highway_mlp(d=8, layers=2, gate_bias=-2.0)
    for layer in model.highway:
        assert torch.all(layer.gate.bias == -2.0)
