"""The Swin family (issue 13): examples/swin.rg against published figures and the independent
reference in tests/reference/swin.py.

- Every network (swin_t/s/b at 224, swin_v2_t/s/b at 256): the analysis' parameter count
  equals torchvision's published ``num_params`` and its MACs are within 1% of the published
  GFLOPS (``_ops``), analysis only. The convention (projections plus QKᵀ and AV per window,
  and for V2 the position-bias MLP once per block) matches all six to 0.01%; leaving V2's
  MLP out would miss by 0.24-0.33%.
- State_dict keys and shapes equal the reference's (torchvision's), the registered buffers
  ``relative_position_index`` and V2's ``relative_coords_table`` included; in the same order
  for V1 (V2's post-norm builds ``attn`` before ``norm1``, so only the set is the same).
- One small configuration per version at a size where windows are both padded and shifted
  (18×18 tokens, window 4) and patch merging pads odd sizes (9 → 5 → 3): compiled, it loads
  the reference's state_dict strictly with the bias tables, logit scales, norms and biases
  randomised, matches it within 1e-5 in eval, and every parameter gets a gradient.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import resgraph
from resgraph.lower.torch_ops import DropPath
from tests.parity import assert_parity
from tests.reference import swin as ref_swin

SWIN = Path(__file__).resolve().parent.parent / "examples" / "swin.rg"

# torchvision 0.28's published metadata for each network's DEFAULT weights:
# (meta["num_params"], meta["_ops"] in GFLOPS, transforms' crop size).
PUBLISHED: dict[str, tuple[int, float, int]] = {
    "swin_t": (28_288_354, 4.491, 224),
    "swin_s": (49_606_258, 8.741, 224),
    "swin_b": (87_768_224, 15.431, 224),
    "swin_v2_t": (28_351_570, 5.94, 256),
    "swin_v2_s": (49_737_442, 11.546, 256),
    "swin_v2_b": (87_930_848, 20.325, 256),
}

SMALL = {"size": 72, "patch": 4, "embed": 16, "depths": [2, 2, 2, 2], "heads": [2, 2, 4, 4],
         "window": 4, "classes": 10}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_params_and_macs(name: str) -> None:
    params, gflops, size = PUBLISHED[name]
    arch = resgraph.load(str(SWIN), network=name)
    assert next(iter(arch.inputs.values())) == (3, size, size)
    rep = arch.analyze(distributions=False)
    assert rep.params == params
    assert abs(rep.macs - gflops * 1e9) <= 0.01 * gflops * 1e9, rep.macs


def _keys(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_keys_and_shapes_equal_the_reference(name: str) -> None:
    gm = resgraph.load(str(SWIN), network=name).compile(device="meta")
    with torch.device("meta"):
        theirs = getattr(ref_swin, name)(1000)
    ours, ref = _keys(gm), _keys(theirs)
    assert sorted(ours) == sorted(ref)
    if "v2" not in name:
        assert ours == ref
    w = 8 if "v2" in name else 7
    assert ("features.1.0.attn.relative_position_index", (w ** 4,)) in ours
    if "v2" in name:
        assert ("features.1.0.attn.relative_coords_table", (1, 2 * w - 1, 2 * w - 1, 2)) in ours


def randomise(model: nn.Module, seed: int = 1) -> None:
    """Random bias tables, logit scales, norm affines and biases (all else as initialised)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "table" in name or "logit" in name or name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5 + name.endswith("weight"))


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_small_swin_matches_reference(v2: bool) -> None:
    torch.manual_seed(0)
    theirs = ref_swin.SwinTransformer(SMALL["patch"], SMALL["embed"], SMALL["depths"],
                                      SMALL["heads"], SMALL["window"], 0.2, SMALL["classes"],
                                      v2=v2)
    randomise(theirs)
    arch = resgraph.load(str(SWIN), network="swin_v2_t" if v2 else "swin_t", **SMALL)
    assert arch.num_params == sum(p.numel() for p in theirs.parameters())
    gm = arch.compile()
    assert sorted(_keys(gm)) == sorted(_keys(theirs))
    x = torch.randn(2, 3, 72, 72, generator=torch.Generator().manual_seed(2))
    assert_parity(gm, theirs, x)
    # torchvision's ramp: block k of K drops both branches with rate sd·k/(K−1)
    rates = [m.p for m in gm.modules() if isinstance(m, DropPath)]
    assert rates == pytest.approx([r for r in theirs.drop_rates[1:] for _ in (0, 1)])


def test_window_buffers_are_torchvisions() -> None:
    """relative_position_index and relative_coords_table hold the values the reference
    computes (torchvision's, checked outside the project), so checkpoints agree on them."""
    gm = resgraph.load(str(SWIN), network="swin_v2_t", **SMALL).compile()
    ref = ref_swin.SwinTransformer(4, 16, [2, 2, 2, 2], [2, 2, 4, 4], 4, 0.2, 10, v2=True)
    theirs = dict(ref.named_buffers())
    for k, b in gm.named_buffers():
        assert torch.allclose(b, theirs[k], atol=1e-6) and b.dtype == theirs[k].dtype, k
