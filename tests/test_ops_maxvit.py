"""MaxViT's op (issue 13): ``pattention`` against plain torch.

The plain computation here is global, unlike both the op (partition reshapes) and
tests/reference/maxvit.py (a loop over partitions with index gathers): every token of the
map attends to every other, with −inf between tokens of different partitions, and the
position bias read from the offset of the two tokens' places in their partition. A token
at (r, c) belongs, in window mode, to block (r // s, c // s) at place (r % s, c % s); in
grid mode, with rows H/s and columns W/s apart, to group (r % (H/s), c % (W/s)) at place
(r // (H/s), c // (W/s)).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import resgraph
from resgraph.errors import ResgraphError
from resgraph.lower.package import write_package
from resgraph.lower.torch_ops import PartitionAttention
from resgraph.ops import OPS, partition_keys
from tests.loading import load_module


def plain_partition_attention(m: PartitionAttention, x: torch.Tensor) -> torch.Tensor:
    n, h, w, c = x.shape
    s, heads, hd = m.size, m.heads, c // m.heads
    r = torch.arange(h).repeat_interleave(w)
    col = torch.arange(w).repeat(h)
    if m.mode == "window":
        group = (r // s) * w + col // s
        pr, pc = r % s, col % s
    else:
        sh, sw = h // s, w // s
        group = (r % sh) * w + col % sw
        pr, pc = r // sh, col // sw
    span = 2 * s - 1
    rel = (pr[:, None] - pr[None, :] + s - 1) * span + pc[:, None] - pc[None, :] + s - 1
    bias = m.relative_position_bias_table[rel].permute(2, 0, 1)  # [heads, T, T]
    t = x.reshape(n, h * w, c)
    wq, wk, wv = m.to_qkv.weight.chunk(3)
    bq, bk, bv = m.to_qkv.bias.chunk(3)
    q, k, v = (F.linear(t, wt, b).reshape(n, -1, heads, hd).transpose(1, 2)
               for wt, b in ((wq, bq), (wk, bk), (wv, bv)))
    scores = q @ k.transpose(-1, -2) / math.sqrt(c) + bias
    scores = scores.masked_fill(group[:, None] != group[None, :], float("-inf"))
    y = m.merge((scores.softmax(-1) @ v).transpose(1, 2).reshape(n, h * w, c))
    return y.reshape(n, h, w, c)


@pytest.mark.parametrize("mode", ["window", "grid"])
@pytest.mark.parametrize(("h", "w", "size"),
                         [(8, 8, 4), (6, 9, 3), (12, 8, 2), (4, 4, 4), (5, 5, 1), (7, 7, 7)])
def test_partition_attention_equals_plain_torch(mode: str, h: int, w: int, size: int) -> None:
    torch.manual_seed(h * 31 + w + size)
    m = PartitionAttention(8, heads=2, size=size, mode=mode)
    with torch.no_grad():
        m.relative_position_bias_table.normal_(0, 1.0)
        m.to_qkv.bias.normal_(0, 0.5), m.merge.bias.normal_(0, 0.5)
    x = torch.randn(2, h, w, 8)
    assert (m(x) - plain_partition_attention(m, x)).abs().max() < 1e-5


def test_window_and_grid_differ_and_agree_when_one_partition() -> None:
    """A map of exactly one partition is one block and one grid: both modes agree there;
    on a larger map they attend over different tokens."""
    torch.manual_seed(0)
    a = PartitionAttention(8, heads=2, size=3, mode="window")
    b = PartitionAttention(8, heads=2, size=3, mode="grid")
    b.load_state_dict(a.state_dict())
    x = torch.randn(1, 3, 3, 8)
    assert torch.allclose(a(x), b(x), atol=1e-6)
    x = torch.randn(1, 6, 6, 8)
    assert not torch.allclose(a(x), b(x), atol=1e-3)


def test_partition_op_compiles_and_counts() -> None:
    net = """network n(mode=window) { input x[8, 12, 16]
        x -> attn: pattention(4, size=4, mode=mode) }"""
    for mode in ("window", "grid"):
        arch = resgraph.loads(net, mode=mode)
        gm = arch.compile()
        keys = partition_keys(16, 4, 4)
        assert arch.num_params == sum(math.prod(s) for s in keys.values())
        ours = {k.removeprefix("attn."): tuple(t.shape) for k, t in gm.named_parameters()}
        assert ours == keys
        assert list(gm.state_dict()) == ["attn." + k for k in
                                         ["relative_position_bias_table",
                                          "relative_position_index", "to_qkv.weight",
                                          "to_qkv.bias", "merge.weight", "merge.bias"]]
        assert tuple(gm.get_buffer("attn.relative_position_index").shape) == (16, 16)
        mod = gm.get_submodule("attn")
        assert isinstance(mod, PartitionAttention)
        x = torch.randn(2, 8, 12, 16)
        assert torch.allclose(gm(x), plain_partition_attention(mod, x), atol=1e-5)
        # 6 partitions of 16 tokens: 4·16·16² projections and 2·16²·16 for QKᵀ and AV
        assert arch.analyze(distributions=False).macs == 6 * (4 * 16 * 256 + 2 * 256 * 16)
        gm(x).sum().backward()
        assert all(p.grad is not None for p in gm.parameters())
    label = OPS["pattention"].label({"heads": 2, "size": 7, "mode": "grid"},
                                    [(56, 56, 64)], (56, 56, 64))
    assert label == "grid attention 7×7, 2 heads"


def test_partition_op_on_meta_and_in_a_package(tmp_path: Path) -> None:
    """The op builds on the meta device, and its module travels into exported packages as
    source: the package loads its weights strictly and computes the same."""
    arch = resgraph.loads("""network n() { input x[8, 4, 6]
        x -> permute([1, 2, 0]) -> attn: pattention(2, size=2, mode=grid) -> layernorm }""")
    meta = arch.compile(device="meta")
    assert meta(torch.empty(2, 8, 4, 6, device="meta")).shape == (2, 4, 6, 8)
    torch.manual_seed(0)
    gm = arch.compile().eval()
    folder = write_package(gm, tmp_path / "pkg", "maxvit_block")
    mod = load_module("pkg_maxvit_block", folder / "module.py")
    model = mod.maxvit_block().eval()
    assert list(model.state_dict()) == list(gm.state_dict())
    x = torch.randn(2, 8, 4, 6)
    assert torch.allclose(model(x), gm(x), atol=1e-6)


@pytest.mark.parametrize(("body", "code", "text"), [
    ("input x[6, 6, 8]\n x -> pattention(2, size=4)", "RG433", "size=3"),
    ("input x[8, 12, 8]\n x -> pattention(2, size=5, mode=grid)", "RG433", "size=4"),
    ("input x[8, 36]\n x -> pattention(2)", "RG402", "permute([1, 2, 0])"),
    ("input x[6, 6, 9]\n x -> pattention(2, size=3)", "RG404", "heads=3"),
    ("input x[6, 6, 8]\n x -> pattention(2, mode=diagonal)", "RG303", "mode"),
    ("input x[6, 6, 8]\n x -> pattention(2, size=0)", "RG303", "size"),
])
def test_partition_errors_are_located_with_a_fix(body: str, code: str, text: str) -> None:
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(f"network n() {{ {body} }}")
    assert info.value.code == code
    assert text in str(info.value)
    assert ":2:" in str(info.value)
