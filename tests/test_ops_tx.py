"""The ops of the transformer zoo (issue 13), with PyTorch (and HF, when installed) as the oracle.

``attention`` in each checkpoint layout (``mha`` equals ``nn.MultiheadAttention`` after
loading its state_dict, causal too; ``proj`` with rope and grouped-query heads equals a
hand-written Llama attention and HF's ``LlamaAttention``), ``rmsnorm`` (HF's formula),
``gelu(approx=tanh)``, ``linear(layout=conv1d)``, ``token``, ``posembed``'s layouts and
``select``: shapes, keys, params, MACs, outputs, and located errors with a fix.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import resgraph
from resgraph.errors import ResgraphError
from resgraph.lower.package import write_package
from resgraph.ops import OPS
from tests.loading import load_module


def net(body: str, shape: str, dtype: str = "") -> str:
    return f"network n() {{\n    input x[{shape}]{dtype}\n    x -> {body}\n}}\n"


def build(body: str, shape: str,
          seed: int = 0) -> tuple[resgraph.Architecture, torch.fx.GraphModule]:
    arch = resgraph.loads(net(body, shape))
    torch.manual_seed(seed)
    return arch, arch.compile()


def node_of(arch: resgraph.Architecture, op: str) -> dict:
    return next(d for _, d in arch.graph.nodes(data=True) if d["op"] == op)


def close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-5) -> bool:
    return a.shape == b.shape and bool((a - b).abs().max() <= tol)


# ---------------------------------------------------------------- attention layouts


@pytest.mark.parametrize("causal", [False, True])
def test_mha_equals_multihead_attention(causal: bool) -> None:
    t, d, h = 7, 32, 4
    arch, gm = build(f"a: attention({h}, causal={'true' if causal else 'false'}, layout=mha)",
                     f"{t}, {d}")
    sd = gm.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == {
        "a.in_proj_weight": (3 * d, d), "a.in_proj_bias": (3 * d,),
        "a.out_proj.weight": (d, d), "a.out_proj.bias": (d,)}
    ref = nn.MultiheadAttention(d, h, batch_first=True).eval()
    ref.load_state_dict({k.removeprefix("a."): v for k, v in sd.items()}, strict=True)
    with torch.no_grad():  # random biases (both initialise them to zero)
        for p in ref.parameters():
            p.normal_()
        gm.load_state_dict({f"a.{k}": v for k, v in ref.state_dict().items()}, strict=True)
    x = torch.randn(3, t, d)
    mask = nn.Transformer.generate_square_subsequent_mask(t) if causal else None
    want, _ = ref(x, x, x, need_weights=False, attn_mask=mask, is_causal=causal)
    assert close(gm.eval()(x), want, 1e-4)
    node = node_of(arch, "attention")
    assert node["params"] == sum(p.numel() for p in ref.parameters())
    assert node["macs"] == 4 * t * d * d + 2 * t * t * d


def _split_heads(z: torch.Tensor, heads: int) -> torch.Tensor:
    n, t, d = z.shape
    return z.view(n, t, heads, d // heads).transpose(1, 2)


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool) -> torch.Tensor:
    """Softmax(QKᵀ/√hd)V with an explicit mask, heads merged back: [N, T, d]."""
    t, hd = q.shape[-2], q.shape[-1]
    w = q @ k.transpose(-1, -2) / math.sqrt(hd)
    if causal:
        w = w.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    y = w.softmax(-1) @ v
    return y.transpose(1, 2).reshape(q.shape[0], t, -1)


def test_conv1d_layout_is_gpt2_attention() -> None:
    t, d, h = 6, 24, 3
    arch, gm = build(f"attn: attention({h}, causal=true, layout=conv1d)", f"{t}, {d}")
    sd = gm.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == {
        "attn.c_attn.weight": (d, 3 * d), "attn.c_attn.bias": (3 * d,),
        "attn.c_proj.weight": (d, d), "attn.c_proj.bias": (d,)}
    with torch.no_grad():
        for v in sd.values():
            v.normal_(std=0.2)
    x = torch.randn(2, t, d)
    qkv = x @ sd["attn.c_attn.weight"] + sd["attn.c_attn.bias"]
    q, k, v = (_split_heads(z, h) for z in qkv.split(d, -1))
    want = _attend(q, k, v, True) @ sd["attn.c_proj.weight"] + sd["attn.c_proj.bias"]
    assert close(gm.eval()(x), want)


def test_qkv_layout_is_bert_self_attention() -> None:
    t, d, h = 5, 16, 2
    arch, gm = build(f"sa: attention({h}, layout=qkv)", f"{t}, {d}")
    sd = gm.state_dict()
    assert sorted(sd) == ["sa.key.bias", "sa.key.weight", "sa.query.bias",
                          "sa.query.weight", "sa.value.bias", "sa.value.weight"]
    x = torch.randn(2, t, d)
    q, k, v = (_split_heads(F.linear(x, sd[f"sa.{n}.weight"], sd[f"sa.{n}.bias"]), h)
               for n in ("query", "key", "value"))
    assert close(gm.eval()(x), _attend(q, k, v, False))
    node = node_of(arch, "attention")
    assert node["params"] == 3 * d * d + 3 * d
    assert node["macs"] == 3 * t * d * d + 2 * t * t * d


def test_fused_layout_keeps_its_keys_and_bias_false() -> None:
    _, gm = build("a: attention(2)", "4, 8")
    assert sorted(gm.state_dict()) == ["a.out.bias", "a.out.weight", "a.qkv.bias",
                                       "a.qkv.weight"]
    arch, gm = build("a: attention(2, layout=mha, bias=false)", "4, 8")
    assert sorted(gm.state_dict()) == ["a.in_proj_weight", "a.out_proj.weight"]
    assert arch.num_params == 4 * 8 * 8


def _rope_ref(x: torch.Tensor, theta: float) -> torch.Tensor:
    """HF Llama's rotary embedding of [N, H, T, hd], written out independently."""
    hd, t = x.shape[-1], x.shape[-2]
    inv = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ang = torch.arange(t).float()[:, None] * inv[None, :]
    cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()
    x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


@pytest.mark.parametrize(("heads", "kv", "bias", "causal"), [(8, 2, False, True),
                                                             (4, 4, True, True),
                                                             (4, 1, True, False)])
def test_proj_layout_is_llama_attention(heads: int, kv: int, bias: bool, causal: bool) -> None:
    t, d, theta = 9, 64, 10000.0
    hd = d // heads
    flags = f"causal={'true' if causal else 'false'}, bias={'true' if bias else 'false'}"
    arch, gm = build(f"self_attn: attention({heads}, {flags}, layout=proj, kv_heads={kv}, "
                     f"rope={theta})", f"{t}, {d}")
    sd = {k.removeprefix("self_attn."): v for k, v in gm.state_dict().items()}
    shapes = {"q_proj": (d, d), "k_proj": (kv * hd, d), "v_proj": (kv * hd, d), "o_proj": (d, d)}
    want_keys = {f"{n}.weight": s for n, s in shapes.items()}
    if bias:
        want_keys |= {f"{n}.bias": (s[0],) for n, s in shapes.items()}
    assert {k: tuple(v.shape) for k, v in sd.items()} == want_keys
    with torch.no_grad():
        for v in sd.values():
            v.normal_(std=0.2)
    x = torch.randn(2, t, d)

    def lin(name: str, z: torch.Tensor) -> torch.Tensor:
        return F.linear(z, sd[f"{name}.weight"], sd.get(f"{name}.bias"))

    q = _rope_ref(_split_heads(lin("q_proj", x), heads), theta)
    k = _rope_ref(_split_heads(lin("k_proj", x), kv), theta)
    v = _split_heads(lin("v_proj", x), kv)
    k, v = (z[:, :, None].expand(-1, -1, heads // kv, -1, -1).reshape(2, heads, t, hd)
            for z in (k, v))
    want = lin("o_proj", _attend(q, k, v, causal))
    y = gm.eval()(x)
    assert close(y, want, 1e-5)
    node = node_of(arch, "attention")
    assert node["params"] == sum(v.numel() for v in sd.values())
    assert node["macs"] == t * d * (2 * d + 2 * kv * hd) + 2 * t * t * d

    # HF's own LlamaAttention, when transformers is installed (a dev extra)
    if importlib.util.find_spec("transformers") is None:
        return
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaAttention, LlamaRotaryEmbedding
    cfg = LlamaConfig(hidden_size=d, num_attention_heads=heads, num_key_value_heads=kv,
                      attention_bias=bias, rope_theta=theta, max_position_embeddings=64)
    cfg._attn_implementation = "eager"
    hf = LlamaAttention(cfg, layer_idx=0).eval()
    hf.load_state_dict(sd, strict=True)
    pos = LlamaRotaryEmbedding(cfg)(x, torch.arange(t)[None])
    mask = torch.zeros(1, 1, t, t)
    if causal:
        mask = mask.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1),
                                torch.finfo(torch.float32).min)
    with torch.no_grad():
        out = hf(x, position_embeddings=pos, attention_mask=mask)[0]
    assert close(y.detach(), out, 1e-5)


def test_attention_gradients_and_dropout_mode() -> None:
    _, gm = build("a: attention(4, dropout=0.5, layout=proj, kv_heads=2, rope=100.0)", "6, 16")
    x = torch.randn(2, 6, 16)
    gm.train()(x).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in gm.parameters())
    gm.eval()
    assert torch.equal(gm(x), gm(x))


def test_attention_on_meta_and_in_a_package(tmp_path: Path) -> None:
    arch = resgraph.loads(net("a: attention(4, layout=proj, kv_heads=2, rope=10000.0) "
                              "-> n: rmsnorm -> c: linear(8, layout=conv1d) -> gelu(approx=tanh)",
                              "5, 16"))
    meta = arch.compile(device="meta")
    assert meta(torch.empty(2, 5, 16, device="meta")).shape == (2, 5, 8)
    torch.manual_seed(0)
    gm = arch.compile().eval()
    folder = write_package(gm, tmp_path / "pkg", "tx_block")
    mod = load_module("pkg_tx_block", folder / "module.py")
    model = mod.tx_block().eval()  # loads model.safetensors with strict=True
    assert list(model.state_dict()) == list(gm.state_dict())
    x = torch.randn(2, 5, 16)
    assert close(model(x), gm(x), 1e-6)


# ---------------------------------------------------------------- rmsnorm, gelu, conv1d linear


def test_rmsnorm_equals_hf_formula() -> None:
    arch, gm = build("norm: rmsnorm(1e-5)", "4, 12")
    with torch.no_grad():
        gm.get_parameter("norm.weight").normal_()
    w = gm.get_parameter("norm.weight").detach()
    for dtype in (torch.float32, torch.float64):
        x = torch.randn(2, 4, 12, dtype=dtype) * 3
        h = x.to(torch.float32)
        want = w.to(dtype) * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-5)).to(dtype)
        assert close(gm.to(dtype)(x).detach(), want, 1e-6)
    assert arch.num_params == 12
    assert OPS["rmsnorm"].args[0].default == 1e-6
    # rmsnorm counts as a norm: a linear feeding only it gets no bias by default
    arch, _ = build("linear(8) -> rmsnorm", "3, 4")
    assert node_of(arch, "linear")["args"]["bias"] is False


def test_gelu_tanh() -> None:
    _, gm = build("gelu(approx=tanh)", "5, 7")
    x = torch.randn(2, 5, 7) * 3
    assert torch.equal(gm(x), F.gelu(x, approximate="tanh"))
    _, gm = build("gelu", "5, 7")
    assert torch.equal(gm(x), F.gelu(x))
    _, gm = build("gelu(approx=none)", "5, 7")
    assert torch.equal(gm(x), F.gelu(x))
    assert OPS["gelu"].label({"approx": "tanh"}, [(4,)], (4,)) == "gelu (tanh)"
    assert OPS["gelu"].label({"approx": "none"}, [(4,)], (4,)) == "gelu"


def test_linear_conv1d_layout() -> None:
    arch, gm = build("c_fc: linear(12, layout=conv1d)", "3, 5")
    sd = gm.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == {"c_fc.weight": (5, 12),
                                                          "c_fc.bias": (12,)}
    x = torch.randn(2, 3, 5)
    with torch.no_grad():
        sd["c_fc.bias"].normal_()
    assert close(gm(x), x @ sd["c_fc.weight"] + sd["c_fc.bias"])
    assert arch.num_params == 5 * 12 + 12
    assert node_of(arch, "linear")["macs"] == 3 * 5 * 12
    _, gm = build("c: linear(4, bias=false, layout=conv1d)", "5")
    assert list(gm.state_dict()) == ["c.weight"]
    x = torch.randn(2, 5)
    assert close(gm(x), x @ gm.state_dict()["c.weight"])


# ---------------------------------------------------------------- tokens


def test_token_prepends_a_learned_token() -> None:
    arch, gm = build("class_token: token", "4, 6")
    assert arch.outputs == {"class_token": (5, 6)} or next(iter(arch.outputs.values())) == (5, 6)
    sd = gm.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == {"class_token": (1, 1, 6)}
    assert torch.equal(sd["class_token"], torch.zeros(1, 1, 6))
    with torch.no_grad():
        gm.get_parameter("class_token").normal_()
    x = torch.randn(3, 4, 6)
    y = gm(x)
    assert torch.equal(y[:, 1:], x)
    assert torch.equal(y[:, 0], gm.get_parameter("class_token")[0].expand(3, 6))
    y.sum().backward()
    assert gm.get_parameter("class_token").grad is not None
    arch, gm = build("t: token(0.5)", "4, 6")
    assert torch.equal(gm.state_dict()["t"], torch.full((1, 1, 6), 0.5))
    assert arch.num_params == 6


@pytest.mark.parametrize(("layout", "key", "shape"), [("param", "pos", (4, 6)),
                                                       ("batched", "pos", (1, 4, 6)),
                                                       ("embedding", "pos.weight", (4, 6))])
def test_posembed_layouts(layout: str, key: str, shape: tuple[int, ...]) -> None:
    text = "pos: posembed" if layout == "param" else f"pos: posembed(layout={layout})"
    arch, gm = build(text, "4, 6")
    sd = gm.state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == {key: shape}
    x = torch.randn(2, 4, 6)
    table = sd[key].reshape(4, 6)
    assert close(gm(x), x + table, 0.0)
    assert arch.num_params == 24


def test_select() -> None:
    _, gm = build("select(0)", "5, 6")
    x = torch.randn(2, 5, 6)
    assert torch.equal(gm(x), x[:, 0])
    arch, gm = build("select(-1)", "5, 6")
    assert torch.equal(gm(x), x[:, -1])
    assert next(iter(arch.outputs.values())) == (6,)
    arch, gm = build("select(2, dim=1)", "5, 6")
    assert torch.equal(gm(x), x[:, :, 2])
    assert next(iter(arch.outputs.values())) == (5,)


def test_vit_head_chain() -> None:
    """conv patches -> tokens -> class token -> position embedding -> ... -> select(0)."""
    arch, gm = build("conv_proj: conv(16, 4, stride=4, pad=0) -> flatten(1) -> permute([1, 0]) "
                     "-> class_token: token -> pos_embedding: posembed(layout=batched) "
                     "-> ln: layernorm -> select(0) -> head: linear(10)", "3, 8, 8")
    assert next(iter(arch.outputs.values())) == (10,)
    assert tuple(gm.state_dict()["pos_embedding"].shape) == (1, 5, 16)
    x = torch.randn(2, 3, 8, 8)
    sd = gm.state_dict()
    p = F.conv2d(x, sd["conv_proj.weight"], sd["conv_proj.bias"], stride=4)
    p = p.flatten(2).transpose(1, 2)
    z = torch.cat([sd["class_token"].expand(2, -1, -1), p], 1) + sd["pos_embedding"]
    z = F.layer_norm(z, (16,), sd["ln.weight"], sd["ln.bias"])
    assert close(gm(x), F.linear(z[:, 0], sd["head.weight"], sd["head.bias"]))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(("body", "shape", "code", "text"), [
    ("attention(8, kv_heads=3, layout=proj)", "4, 32", "RG426", "use one of 1, 2, 4, 8"),
    ("attention(8, kv_heads=2)", "4, 32", "RG427", "add layout=proj"),
    ("attention(4, rope=10000.0)", "4, 12", "RG428", "head size 12/4 = 3 is odd"),
    ("attention(4, layout=heads)", "4, 16", "RG303", "must be one of fused, mha"),
    ("attention(4, rope=-1.0)", "4, 16", "RG303", "'rope' must be at least 0"),
    ("attention(4, kv_heads=0)", "4, 16", "RG303", "'kv_heads' must be at least 1"),
    ("attention(4)", "3, 4, 4", "RG402", "flatten(1) -> permute([1, 0])"),
    ("token", "16", "RG402", "reshape([1, -1])"),
    ("posembed(layout=batched)", "3, 4, 4", "RG402", "needs a sequence of shape [T, d]"),
    ("posembed(layout=table)", "4, 4", "RG303", "param, batched, embedding"),
    ("select(5)", "5, 6", "RG429", "use 0..4, or -5..-1"),
    ("select(-6)", "5, 6", "RG429", "out of range for the first dim of size 5"),
    ("select(0)", "6", "RG430", "slice(i, i + 1)"),
    ("select(0, dim=2)", "5, 6", "RG420", "dim=2 is out of range"),
    ("gelu(approx=fast)", "4", "RG303", "must be one of none, tanh"),
    ("linear(4, layout=dense)", "4", "RG303", "must be one of linear, conv1d"),
    ("rmsnorm(0)", "4", "RG303", "'eps' must be greater than 0"),
])
def test_errors(body: str, shape: str, code: str, text: str) -> None:
    with pytest.raises(ResgraphError) as err:
        resgraph.loads(net(body, shape))
    assert err.value.code == code, str(err.value)
    assert text in str(err.value)
    assert err.value.span is not None and err.value.span.line == 3


def test_token_ops_count_no_macs() -> None:
    arch = resgraph.loads(net("token -> posembed(layout=embedding) -> select(0) -> rmsnorm",
                              "4, 8"))
    for _, d in arch.graph.nodes(data=True):
        if d["op"] != "input":
            assert d["macs"] == 0, d["op"]
