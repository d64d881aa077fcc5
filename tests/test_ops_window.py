"""The Swin ops (issue 13): ``wattention`` and ``patchmerge`` against plain torch.

The plain computation here is global, unlike both the op (window reshapes) and
tests/reference/swin.py (a loop over windows): every token of the padded map attends to
every other, with −inf between tokens that the shifted partition puts in different windows
and −100 across the roll's seam inside one, and the position bias read from the relative
offset of the two tokens' places in their window.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import resgraph
from resgraph.errors import ResgraphError
from resgraph.lower.torch_ops import PatchMerge, WindowAttention
from resgraph.ops import OPS, window_keys


def plain_window_attention(m: WindowAttention, x: torch.Tensor) -> torch.Tensor:
    n, h0, w0, c = x.shape
    ws, heads, hd = m.window, m.heads, c // m.heads
    ph, pw = math.ceil(h0 / ws) * ws, math.ceil(w0 / ws) * ws
    sy, sx = (m.shift if ph > ws else 0), (m.shift if pw > ws else 0)
    x = F.pad(x, (0, 0, 0, pw - w0, 0, ph - h0)).reshape(n, ph * pw, c)
    r = torch.arange(ph).repeat_interleave(pw)  # original row and column of each token
    col = torch.arange(pw).repeat(ph)
    rr, cc = (r - sy) % ph, (col - sx) % pw  # where the roll takes it
    win = (rr // ws) * (pw // ws) + cc // ws
    seam = (r < sy).long() * 2 + (col < sx).long()  # rolled across the wrap-around
    span = 2 * ws - 1
    rel = ((rr % ws)[:, None] - (rr % ws)[None, :] + ws - 1) * span \
        + (cc % ws)[:, None] - (cc % ws)[None, :] + ws - 1
    if m.version == 1:
        table = m.relative_position_bias_table
    else:
        table = 16 * torch.sigmoid(m.cpb_mlp(m.relative_coords_table).reshape(-1, heads))
    bias = table[rel].permute(2, 0, 1)  # [heads, T, T]
    wq, wk, wv = m.qkv.weight.chunk(3)
    bq, bk, bv = m.qkv.bias.chunk(3)
    if m.version == 2:
        bk = bk * 0
    q, k, v = (F.linear(x, wt, b).reshape(n, -1, heads, hd).transpose(1, 2)
               for wt, b in ((wq, bq), (wk, bk), (wv, bv)))
    if m.version == 1:
        s = q @ k.transpose(-1, -2) / math.sqrt(hd)
    else:
        s = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-1, -2)
        s = s * m.logit_scale.clamp(max=math.log(100.0)).exp()
    s = s + bias - 100.0 * (seam[:, None] != seam[None, :]).float()
    s = s.masked_fill(win[:, None] != win[None, :], float("-inf"))
    y = m.proj((s.softmax(-1) @ v).transpose(1, 2).reshape(n, ph * pw, c))
    return y.reshape(n, ph, pw, c)[:, :h0, :w0]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(("h", "w", "window", "shift"),
                         [(7, 7, 7, 0), (9, 5, 4, 2), (11, 13, 4, 1), (8, 8, 4, 2),
                          (5, 9, 3, 1), (3, 3, 4, 2)])
def test_window_attention_equals_plain_torch(version: int, h: int, w: int, window: int,
                                             shift: int) -> None:
    torch.manual_seed(h * 31 + w + version)
    m = WindowAttention(8, heads=2, window=window, shift=shift, version=version)
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() != 2 or "table" in str(p.shape):
                p.add_(torch.randn_like(p) * 0.5)
        if version == 1:
            m.relative_position_bias_table.normal_(0, 1.0)
    x = torch.randn(2, h, w, 8)
    assert (m(x) - plain_window_attention(m, x)).abs().max() < 1e-5


def test_window_op_compiles_and_counts() -> None:
    net = """network n(v=1) { input x[9, 5, 8]
        x -> attn: wattention(2, window=4, shift=2, version=v) }"""
    for v in (1, 2):
        arch = resgraph.loads(net, v=v)
        gm = arch.compile()
        keys = window_keys(8, 2, 4, v)
        assert arch.num_params == sum(math.prod(s) for s in keys.values())
        ours = {k.removeprefix("attn."): tuple(t.shape) for k, t in gm.named_parameters()}
        assert ours == keys
        mod = gm.get_submodule("attn")
        assert isinstance(mod, WindowAttention)
        x = torch.randn(2, 9, 5, 8)
        assert torch.allclose(gm(x), plain_window_attention(mod, x), atol=1e-5)
        # 6 windows of 16 tokens: 4·16·8² projections and 2·16²·8 for QKᵀ and AV each
        macs = 6 * (4 * 16 * 64 + 2 * 256 * 8) + (0 if v == 1 else 49 * 512 * 4)
        assert arch.analyze(distributions=False).macs == macs
    label = OPS["wattention"].label({"heads": 3, "window": 7, "shift": 3, "version": 2},
                                    [(56, 56, 96)], (56, 56, 96))
    assert label == "window attention 7×7, 3 heads, shift 3, v2"


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize(("h", "w"), [(6, 6), (5, 7), (9, 4)])
def test_patchmerge_equals_plain_torch(version: int, h: int, w: int) -> None:
    torch.manual_seed(version)
    arch = resgraph.loads(f"""network n() {{ input x[{h}, {w}, 4]
        x -> merge: patchmerge({version}) }}""")
    assert arch.outputs["merge"] == ((h + 1) // 2, (w + 1) // 2, 8)
    gm = arch.compile()
    m = gm.get_submodule("merge")
    assert isinstance(m, PatchMerge) and list(m.state_dict()) == \
        ["reduction.weight", "norm.weight", "norm.bias"]
    with torch.no_grad():
        m.norm.weight.normal_(), m.norm.bias.normal_()
    x = torch.randn(2, h, w, 4)
    xp = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    # the 2x2 cell (row a, column b) goes to channel block 2·b + a
    cells = torch.stack([xp[:, a::2, b::2] for b in (0, 1) for a in (0, 1)], dim=-2)
    flat = cells.flatten(-2)
    norm = lambda t: F.layer_norm(t, t.shape[-1:], m.norm.weight, m.norm.bias)  # noqa: E731
    want = (flat @ m.reduction.weight.T) if version == 2 else norm(flat) @ m.reduction.weight.T
    want = norm(want) if version == 2 else want
    assert (gm(x) - want).abs().max() < 1e-5
    assert arch.num_params == 16 * 8 + 2 * (16 if version == 1 else 8)
    assert arch.analyze(distributions=False).macs == ((h + 1) // 2) * ((w + 1) // 2) * 16 * 8


@pytest.mark.parametrize(("body", "code", "text"), [
    ("input x[8, 6, 6]\n x -> wattention(2, window=3, shift=3)", "RG431",
     "shift=3 must be less than window=3"),
    ("input x[8, 6, 6]\n x -> wattention(2, window=1, version=2)", "RG432", "window >= 2"),
    ("input x[8, 36]\n x -> wattention(2)", "RG402", "permute([1, 2, 0])"),
    ("input x[6, 6, 9]\n x -> wattention(2)", "RG404", "heads=3"),
    ("input x[6, 6, 8]\n x -> wattention(2, version=3)", "RG303", "version"),
    ("input x[8, 6]\n x -> patchmerge", "RG402", "channels-last"),
])
def test_window_errors_are_located_with_a_fix(body: str, code: str, text: str) -> None:
    with pytest.raises(ResgraphError) as info:
        resgraph.loads(f"network n() {{ {body} }}")
    assert info.value.code == code
    assert text in str(info.value)
    assert ":2:" in str(info.value) or ":1:" in str(info.value)
