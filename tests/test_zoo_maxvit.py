"""MaxViT (issue 13): examples/maxvit.rg against the published figures and the independent
reference in tests/reference/maxvit.py.

- maxvit_t at 224: the analysis' parameter count equals torchvision's published
  ``num_params`` (30,919,624) and its MACs are within 1% of the published 5.558 GFLOPS
  (``_ops``), analysis only. The attention convention (projections plus QKᵀ and AV per
  partition) gives 5,558,046,720, 0.001% over.
- State_dict keys and shapes equal the reference's (torchvision's), in the same order, the
  ``relative_position_index`` buffers included (built on the meta device).
- Two small configurations (2 stages of 1-2 layers, partition 4 or 2, inputs of 64 and
  32, so the last grid attention spans an 8×8 or a 4×4 map): compiled, each loads the reference's
  state_dict strictly with the bias tables, bn statistics, norms and biases randomised,
  matches it within 1e-5 in eval, and every parameter gets a gradient.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import resgraph
from resgraph.lower.torch_ops import DropPath
from tests.parity import assert_parity
from tests.reference import maxvit as ref_maxvit

MAXVIT = Path(__file__).resolve().parent.parent / "examples" / "maxvit.rg"

# torchvision 0.28's published metadata for MaxVit_T_Weights.DEFAULT:
# meta["num_params"], meta["_ops"] in GFLOPS, the transforms' crop size.
PUBLISHED = (30_919_624, 5.558, 224)

SMALL = [
    {"size": 64, "stem": 16, "channels": [16, 32], "depths": [2, 1], "head_dim": 8,
     "partition": 4, "classes": 10},
    {"size": 32, "stem": 8, "channels": [16, 24], "depths": [1, 2], "head_dim": 8,
     "partition": 2, "classes": 10},
]


def test_published_params_and_macs() -> None:
    params, gflops, size = PUBLISHED
    arch = resgraph.load(str(MAXVIT), network="maxvit_t")
    assert next(iter(arch.inputs.values())) == (3, size, size)
    rep = arch.analyze(distributions=False)
    assert rep.params == params
    assert abs(rep.macs - gflops * 1e9) <= 0.01 * gflops * 1e9, rep.macs


def _keys(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def test_keys_and_shapes_equal_the_reference() -> None:
    gm = resgraph.load(str(MAXVIT), network="maxvit_t").compile(device="meta")
    with torch.device("meta"):
        theirs = ref_maxvit.maxvit_t(1000)
    ours = _keys(gm)
    assert ours == _keys(theirs)
    assert ("blocks.2.layers.4.layers.grid_attention.attn_layer.1.relative_position_index",
            (49, 49)) in ours
    assert ("blocks.0.layers.0.layers.MBconv.proj.1.weight", (64, 64, 1, 1)) in ours


def randomise(model: nn.Module, seed: int = 1) -> None:
    """Random bias tables, bn statistics, norm affines and biases (all else as initialised)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if not p.dtype.is_floating_point:
                continue
            if "running_var" in name:
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            elif ("norm" in name or "table" in name or "running_mean" in name
                  or name.endswith("bias") or p.dim() == 1):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5 + name.endswith("weight"))


@pytest.mark.parametrize("cfg", SMALL, ids=["p4", "p2"])
def test_small_maxvit_matches_reference(cfg: dict) -> None:
    torch.manual_seed(0)
    theirs = ref_maxvit.MaxVit(cfg["stem"], tuple(cfg["channels"]), tuple(cfg["depths"]),
                               cfg["head_dim"], cfg["partition"], 0.2, cfg["classes"])
    randomise(theirs)
    arch = resgraph.load(str(MAXVIT), network="maxvit_t", **cfg)
    assert arch.num_params == sum(p.numel() for p in theirs.parameters())
    gm = arch.compile()
    assert _keys(gm) == _keys(theirs)
    size = cfg["size"]
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(2))
    assert_parity(gm, theirs, x)
    # torchvision's ramp: layer k of K drops its MBConv branch and its four attention and
    # MLP branches with rate sd·k/(K−1) (none at layer 0)
    rates = [m.p for m in gm.modules() if isinstance(m, DropPath)]
    assert rates == pytest.approx([r for r in theirs.drop_rates[1:] for _ in range(5)])


def test_index_buffers_are_torchvisions() -> None:
    """relative_position_index holds the values the reference computes (torchvision's,
    checked outside the project), so checkpoints agree on them."""
    gm = resgraph.load(str(MAXVIT), network="maxvit_t", **SMALL[0]).compile()
    ref = ref_maxvit.MaxVit(16, (16, 32), (2, 1), 8, 4, 0.2, 10)
    theirs = dict(ref.named_buffers())
    for k, b in gm.named_buffers():
        assert torch.equal(b, theirs[k]) and b.dtype == theirs[k].dtype, k
