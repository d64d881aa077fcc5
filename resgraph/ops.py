"""The op registry: every op declared once, as data.

Each :class:`OpSpec` holds an op's argument signature, shape rule, parameter
count, MACs, weighted-layer count, diagram label and a one-line meaning; its torch
lowering is its entry in ``resgraph.lower.torch_ops.LOWERINGS`` (a test holds the two
tables equal). Analysis, rendering and lowering all read the same entry, so their
figures cannot drift.

>>> spec = OPS["conv"]
>>> spec.shape([(3, 224, 224)], {"out": 64, "k": 7, "stride": 2, "pad": 3, "dilation": 1,
...                                "groups": 1})
(64, 112, 112)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from resgraph.util import shape_text

ArgType = Literal["int", "float", "bool", "word", "ints", "bias", "any"]
Shape = tuple[int, ...]
Args = dict[str, Any]

REQUIRED = object()


class OpError(Exception):
    """A shape or argument problem inside an op rule; elaboration adds the location."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ArgSpec:
    """One argument: name, type (see :data:`ArgType`) and default.

    A callable default is computed from the other arguments (``pad=k//2``).
    """

    name: str
    type: ArgType
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    open_min: bool = False
    """The value must be greater than ``minimum``, not equal to it."""
    open_max: bool = False
    """The value must be less than ``maximum``, not equal to it."""


def _zero(ins: list[Shape], out: Shape, a: Args) -> int:
    return 0


@dataclass(frozen=True)
class OpSpec:
    """Everything about one op. ``internal`` ops are created by elaboration, never typed."""

    name: str
    args: tuple[ArgSpec, ...]
    shape: Callable[[list[Shape], Args], Shape]
    label: Callable[[Args, list[Shape], Shape], str]
    params: Callable[[list[Shape], Shape, Args], int] = _zero
    macs: Callable[[list[Shape], Shape, Args], int] = _zero
    weighted: int = 0
    internal: bool = False
    input_dtype: str = "float"
    meaning: str = ""
    """What the op means in PyTorch terms, in one line: the docs' op table shows it."""


# ---------------------------------------------------------------- helpers


def _prod(xs: Any) -> int:
    return math.prod(int(x) for x in xs)


def _spatial_rank(x: Shape, op: str) -> int:
    rank = len(x) - 1
    if rank not in (1, 2, 3):
        raise OpError(f"{op} needs an input of shape [C, L], [C, H, W] or [C, D, H, W], "
                      f"got {shape_text(x)}", "RG402")
    return rank


def _per_dim(v: Any, rank: int, name: str) -> tuple[int, ...]:
    if isinstance(v, list):
        if len(v) != rank:
            raise OpError(f"'{name}' has {len(v)} values but the input has {rank} spatial "
                          "dimensions", "RG303")
        return tuple(v)
    return (v,) * rank


def _window_out(size: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    """PyTorch's output size of a sliding window (``pooling_output_shape``).

    With ``ceil`` the division rounds up, but the last window must start inside the input
    or the left padding, else it is dropped:

    >>> _window_out(112, 3, 2, 0), _window_out(112, 3, 2, 0, ceil=True)
    (55, 56)
    >>> _window_out(6, 2, 2, 1, ceil=True), _window_out(5, 2, 2, 1, ceil=True)
    (4, 3)
    """
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


def _window_shape(x: Shape, a: Args, op: str, channels: int) -> Shape:
    rank = _spatial_rank(x, op)
    ks = _per_dim(a["k"], rank, "k")
    ss = _per_dim(a["stride"], rank, "stride")
    ps = _per_dim(a["pad"], rank, "pad")
    ds = _per_dim(a.get("dilation", 1), rank, "dilation")
    ceil = bool(a.get("ceil", False))
    out = []
    for size, k, s, p, d in zip(x[1:], ks, ss, ps, ds):
        o = _window_out(size, k, s, p, d, ceil)
        if o < 1:
            raise OpError(f"{op} with kernel {k}, stride {s}, padding {p} leaves nothing "
                          f"of an input of size {size} (input {shape_text(x)})", "RG403")
        out.append(o)
    return (channels, *out)


def _same(ins: list[Shape], a: Args) -> Shape:
    return ins[0]


def _kernel_text(k: Any, rank: int) -> str:
    ks = _per_dim(k, rank, "k")
    return "×".join(str(v) for v in ks)


# ---------------------------------------------------------------- conv


def _conv_shape(ins: list[Shape], a: Args) -> Shape:
    x = ins[0]
    _spatial_rank(x, "conv")
    g = a["groups"]
    if x[0] % g or a["out"] % g:
        raise OpError(f"conv groups={g} must divide the input channels ({x[0]}) and the "
                      f"output channels ({a['out']})", "RG404")
    return _window_shape(x, a, "conv", a["out"])


def _conv_params(ins: list[Shape], out: Shape, a: Args) -> int:
    x = ins[0]
    k = _prod(_per_dim(a["k"], len(x) - 1, "k"))
    return a["out"] * (x[0] // a["groups"]) * k + (a["out"] if a["bias"] is True else 0)


def _conv_macs(ins: list[Shape], out: Shape, a: Args) -> int:
    x = ins[0]
    k = _prod(_per_dim(a["k"], len(x) - 1, "k"))
    return _prod(out) * (x[0] // a["groups"]) * k


def _conv_label(a: Args, ins: list[Shape], out: Shape) -> str:
    rank = max(len(ins[0]) - 1, 1)
    text = f"conv {_kernel_text(a['k'], rank)}, {a['out']}"
    s = a["stride"]
    if s != 1:
        text += f", /{s}" if not isinstance(s, list) else f", /{'×'.join(map(str, s))}"
    if a["groups"] != 1:
        text += f", g{a['groups']}"
    if a["dilation"] != 1:
        text += f", d{a['dilation']}"
    return text


# ---------------------------------------------------------------- norms


def _bn_shape(ins: list[Shape], a: Args) -> Shape:
    if len(ins[0]) not in (1, 2, 3, 4):
        raise OpError(f"bn needs [C], [C, L], [C, H, W] or [C, D, H, W], got {shape_text(ins[0])}",
                      "RG402")
    return ins[0]


def _channel_affine(ins: list[Shape], out: Shape, a: Args) -> int:
    return 2 * ins[0][0]


def _groupnorm_shape(ins: list[Shape], a: Args) -> Shape:
    c = ins[0][0]
    if c % a["groups"]:
        raise OpError(f"groupnorm groups={a['groups']} must divide the {c} channels", "RG404")
    return ins[0]


# ---------------------------------------------------------------- linear & friends


def _linear_shape(ins: list[Shape], a: Args) -> Shape:
    return (*ins[0][:-1], a["out"])


def _linear_params(ins: list[Shape], out: Shape, a: Args) -> int:
    return ins[0][-1] * a["out"] + (a["out"] if a["bias"] is True else 0)


def _linear_macs(ins: list[Shape], out: Shape, a: Args) -> int:
    return _prod(ins[0]) * a["out"]


def _embedding_shape(ins: list[Shape], a: Args) -> Shape:
    if len(ins[0]) != 1:
        raise OpError(f"embedding needs token ids of shape [T], got {shape_text(ins[0])}", "RG402")
    return (ins[0][0], a["dim"])


_TOKENS_FIX = ("; a [C, H, W] map becomes [H·W, C] tokens with flatten(1) -> permute([1, 0]), "
               "a vector [d] becomes one token with reshape([1, -1])")


def _sequence(op: str, x: Shape) -> Shape:
    """``x`` when it is a sequence ``[T, d]``, else RG402 with the way to make one."""
    if len(x) != 2:
        raise OpError(f"{op} needs a sequence of shape [T, d], got {shape_text(x)}"
                      + _TOKENS_FIX, "RG402")
    return x


def _seq_shape(op: str) -> Callable[[list[Shape], Args], Shape]:
    def rule(ins: list[Shape], a: Args) -> Shape:
        return _sequence(op, ins[0])
    return rule


ATTENTION_LAYOUTS = ("fused", "mha", "conv1d", "qkv", "proj")
"""Checkpoint layouts of ``attention``: see :func:`attention_keys`."""


def attention_keys(layout: str, d: int, kv: int, bias: bool) -> dict[str, Shape]:
    """The parameter names and shapes of one ``attention`` in a layout (``kv``: the width of
    k and v, ``kv_heads · d / heads``).

    >>> list(attention_keys("mha", 8, 8, True))
    ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']
    >>> list(attention_keys("proj", 8, 4, False).values())
    [(8, 8), (4, 8), (4, 8), (8, 8)]
    """
    if layout == "mha":
        keys = {"in_proj_weight": (d + 2 * kv, d), "in_proj_bias": (d + 2 * kv,),
                "out_proj.weight": (d, d), "out_proj.bias": (d,)}
    elif layout == "conv1d":
        keys = {"c_attn.weight": (d, d + 2 * kv), "c_attn.bias": (d + 2 * kv,),
                "c_proj.weight": (d, d), "c_proj.bias": (d,)}
    elif layout == "fused":
        keys = {"qkv.weight": (d + 2 * kv, d), "qkv.bias": (d + 2 * kv,),
                "out.weight": (d, d), "out.bias": (d,)}
    else:
        names = ("query", "key", "value") if layout == "qkv" else \
            ("q_proj", "k_proj", "v_proj", "o_proj")
        widths = (d, kv, kv, d)
        keys = {}
        for name, w in zip(names, widths):
            keys[f"{name}.weight"] = (w, d)
            keys[f"{name}.bias"] = (w,)
    return {k: v for k, v in keys.items() if bias or not k.endswith("bias")}


def _kv_width(d: int, a: Args) -> int:
    return d // a["heads"] * a.get("kv_heads", a["heads"])


def _attention_shape(ins: list[Shape], a: Args) -> Shape:
    x = _sequence("attention", ins[0])
    d, heads, kv = x[1], a["heads"], a.get("kv_heads", a["heads"])
    if d % heads:
        raise OpError(f"attention: heads={heads} must divide the model width {d}", "RG404")
    if heads % kv:
        fits = [k for k in range(1, heads + 1) if heads % k == 0]
        raise OpError(f"attention: kv_heads={kv} must divide heads={heads} (each key/value "
                      f"head serves heads/kv_heads query heads); use one of "
                      f"{', '.join(map(str, fits))}", "RG426")
    if kv != heads and a.get("layout", "fused") != "proj":
        raise OpError(f"attention: kv_heads={kv} differs from heads={heads} (grouped-query "
                      f"attention), which only layout=proj (q_proj, k_proj, v_proj, o_proj) "
                      f"stores; add layout=proj, or drop kv_heads", "RG427")
    hd = d // heads
    if a.get("rope") and hd % 2:
        raise OpError(f"attention: rope rotates pairs of features, but the head size "
                      f"{d}/{heads} = {hd} is odd; pick heads so that d/heads is even "
                      f"(e.g. heads={_even_heads(d, heads)}), or rope=0 to turn it off",
                      "RG428")
    return x


def _even_heads(d: int, heads: int) -> int:
    fits = [h for h in range(1, d + 1) if d % h == 0 and (d // h) % 2 == 0]
    return min(fits, key=lambda h: (abs(h - heads), h)) if fits else 1


def _attention_params(ins: list[Shape], out: Shape, a: Args) -> int:
    d = ins[0][1]
    keys = attention_keys(a.get("layout", "fused"), d, _kv_width(d, a), a.get("bias", True))
    return sum(_prod(s) for s in keys.values())


def _attention_macs(ins: list[Shape], out: Shape, a: Args) -> int:
    """The projections (their real sizes) and the two matmuls QKᵀ and AV (2·T²·d)."""
    t, d = ins[0]
    keys = attention_keys(a.get("layout", "fused"), d, _kv_width(d, a), False)
    return t * sum(_prod(s) for s in keys.values()) + 2 * t * t * d


def _attention_label(a: Args, ins: list[Shape], out: Shape) -> str:
    text = f"{'causal ' if a['causal'] else ''}attention, {a['heads']} heads"
    if a.get("kv_heads", a["heads"]) != a["heads"]:
        text += f" ({a['kv_heads']} kv)"
    if a.get("rope"):
        text += ", rope"
    return text


def _token_shape(ins: list[Shape], a: Args) -> Shape:
    t, d = _sequence("token", ins[0])
    return (t + 1, d)


def _select_shape(ins: list[Shape], a: Args) -> Shape:
    x = ins[0]
    if len(x) < 2:
        raise OpError(f"select drops a dim, but {shape_text(x)} has only one (batch "
                      "excluded); to keep it, use slice(i, i + 1)", "RG430")
    d = _dim_index("select", "dim", a["dim"], x)
    i, size = a["index"], x[d]
    if not -size <= i < size:
        what = "the first dim" if d == 0 else f"dim {d}"
        raise OpError(f"select({i}) is out of range for {what} of size {size} in "
                      f"{shape_text(x)} (batch excluded): use 0..{size - 1}, or "
                      f"-{size}..-1 to count from the end", "RG429")
    return (*x[:d], *x[d + 1:])


def _select_label(a: Args, ins: list[Shape], out: Shape) -> str:
    return f"select {a['index']}" if a["dim"] == 0 else f"select {a['index']}, dim {a['dim']}"


def _rmsnorm_shape(ins: list[Shape], a: Args) -> Shape:
    return ins[0]


# ---------------------------------------------------------------- windows (Swin)

CPB_HIDDEN = 512
"""Width of Swin V2's continuous position bias MLP (torchvision's ``cpb_mlp``)."""

_CHANNELS_LAST_FIX = ("; a [C, H, W] map becomes channels-last [H, W, C] with "
                      "permute([1, 2, 0])")


def _channels_last(op: str, x: Shape) -> Shape:
    """``x`` when it is a channels-last map ``[H, W, C]``, else RG402 with the way to one."""
    if len(x) != 3:
        raise OpError(f"{op} needs a channels-last map of shape [H, W, C], got "
                      f"{shape_text(x)}" + _CHANNELS_LAST_FIX, "RG402")
    return x


def window_count(x: Shape, window: int) -> int:
    """Windows of ``window``² tokens over ``[H, W, C]`` once padded to a window multiple.

    >>> window_count((56, 56, 96), 7), window_count((9, 5, 8), 4)
    (64, 6)
    """
    return -(-x[0] // window) * -(-x[1] // window)


def window_keys(c: int, heads: int, window: int, version: int) -> dict[str, Shape]:
    """The parameter names and shapes of one ``wattention`` (torchvision's
    ShiftedWindowAttention and ShiftedWindowAttentionV2), buffers excluded.

    >>> window_keys(96, 3, 7, 1)["relative_position_bias_table"]
    (169, 3)
    >>> list(window_keys(96, 3, 8, 2))[:2]
    ['logit_scale', 'qkv.weight']
    """
    if version == 1:
        own: dict[str, Shape] = {"relative_position_bias_table": ((2 * window - 1) ** 2, heads)}
    else:
        own = {"logit_scale": (heads, 1, 1)}
    keys = {**own, "qkv.weight": (3 * c, c), "qkv.bias": (3 * c,), "proj.weight": (c, c),
            "proj.bias": (c,)}
    if version == 2:
        keys |= {"cpb_mlp.0.weight": (CPB_HIDDEN, 2), "cpb_mlp.0.bias": (CPB_HIDDEN,),
                 "cpb_mlp.2.weight": (heads, CPB_HIDDEN)}
    return keys


def _wattention_shape(ins: list[Shape], a: Args) -> Shape:
    x = _channels_last("wattention", ins[0])
    c, heads, w, shift = x[2], a["heads"], a["window"], a["shift"]
    if c % heads:
        fits = [h for h in range(1, c + 1) if c % h == 0]
        near = min(fits, key=lambda h: (abs(h - heads), -h))
        raise OpError(f"wattention: heads={heads} must divide the {c} channels of "
                      f"{shape_text(x)}; e.g. heads={near}", "RG404")
    if shift >= w:
        raise OpError(f"wattention: shift={shift} must be less than window={w} (a cyclic "
                      f"shift by a whole window changes nothing); Swin shifts every other "
                      f"block by window // 2 = {w // 2}", "RG431")
    if a["version"] == 2 and w < 2:
        raise OpError("wattention: version=2 places its position bias by coordinates "
                      "relative to window - 1, which needs window >= 2; use window=2 or "
                      "more, or version=1", "RG432")
    return x


def _wattention_params(ins: list[Shape], out: Shape, a: Args) -> int:
    keys = window_keys(ins[0][2], a["heads"], a["window"], a["version"])
    return sum(_prod(s) for s in keys.values())


def _wattention_macs(ins: list[Shape], out: Shape, a: Args) -> int:
    """Per window of N = window² tokens (the map padded to window multiples): the
    projections qkv and proj (4·N·C²) and the two matmuls QKᵀ and AV (2·N²·C); V2 adds its
    position-bias MLP once per block, ``(2w−1)²·(2·512 + 512·heads)``."""
    c, w = ins[0][2], a["window"]
    n = w * w
    macs = window_count(ins[0], w) * (4 * n * c * c + 2 * n * n * c)
    if a["version"] == 2:
        macs += (2 * w - 1) ** 2 * CPB_HIDDEN * (2 + a["heads"])
    return macs


def _wattention_label(a: Args, ins: list[Shape], out: Shape) -> str:
    w = a["window"]
    text = f"window attention {w}×{w}, {a['heads']} heads"
    if a["shift"]:
        text += f", shift {a['shift']}"
    return text + (", v2" if a["version"] == 2 else "")


def _patchmerge_shape(ins: list[Shape], a: Args) -> Shape:
    h, w, c = _channels_last("patchmerge", ins[0])
    return (-(-h // 2), -(-w // 2), 2 * c)


def _patchmerge_params(ins: list[Shape], out: Shape, a: Args) -> int:
    c = ins[0][2]
    return 8 * c * c + 2 * (4 * c if a["version"] == 1 else 2 * c)


def _patchmerge_macs(ins: list[Shape], out: Shape, a: Args) -> int:
    return out[0] * out[1] * 4 * ins[0][2] * out[2]


# ---------------------------------------------------------------- partitions (MaxViT)


def partition_keys(c: int, heads: int, size: int) -> dict[str, Shape]:
    """The parameter names and shapes of one ``pattention`` (torchvision's MaxViT
    RelativePositionalMultiHeadAttention), the buffer ``relative_position_index`` excluded.

    >>> partition_keys(64, 2, 7)
    {'relative_position_bias_table': (169, 2), 'to_qkv.weight': (192, 64), \
'to_qkv.bias': (192,), 'merge.weight': (64, 64), 'merge.bias': (64,)}
    """
    return {"relative_position_bias_table": ((2 * size - 1) ** 2, heads),
            "to_qkv.weight": (3 * c, c), "to_qkv.bias": (3 * c,), "merge.weight": (c, c),
            "merge.bias": (c,)}


def _pattention_shape(ins: list[Shape], a: Args) -> Shape:
    x = _channels_last("pattention", ins[0])
    h, w, c = x
    heads, size, mode = a["heads"], a["size"], a["mode"]
    if c % heads:
        fits = [k for k in range(1, c + 1) if c % k == 0]
        near = min(fits, key=lambda k: (abs(k - heads), -k))
        raise OpError(f"pattention: heads={heads} must divide the {c} channels of "
                      f"{shape_text(x)}; e.g. heads={near}", "RG404")
    if h % size or w % size:
        fits = [k for k in range(1, min(h, w) + 1) if h % k == 0 and w % k == 0]
        near = min(fits, key=lambda k: (abs(k - size), -k))
        what = "blocks of" if mode == "window" else "a grid of"
        raise OpError(f"pattention: mode={mode} cuts the {h}×{w} map into {what} "
                      f"{size}×{size}, so size={size} must divide both {h} and {w} (MaxViT "
                      f"does not pad); use size={near}, or an input size whose maps are "
                      f"multiples of {size}", "RG433")
    return x


def _pattention_params(ins: list[Shape], out: Shape, a: Args) -> int:
    keys = partition_keys(ins[0][2], a["heads"], a["size"])
    return sum(_prod(s) for s in keys.values())


def _pattention_macs(ins: list[Shape], out: Shape, a: Args) -> int:
    """Per partition of N = size² tokens (H·W / N of them, in either mode): the
    projections to_qkv and merge (4·N·C²) and the two matmuls QKᵀ and AV (2·N²·C)."""
    h, w, c = ins[0]
    n = a["size"] ** 2
    return h * w // n * (4 * n * c * c + 2 * n * n * c)


def _pattention_label(a: Args, ins: list[Shape], out: Shape) -> str:
    s = a["size"]
    kind = "block" if a["mode"] == "window" else "grid"
    return f"{kind} attention {s}×{s}, {a['heads']} heads"


# ---------------------------------------------------------------- pooling & reshaping


def _pool_shape(op: str) -> Callable[[list[Shape], Args], Shape]:
    def rule(ins: list[Shape], a: Args) -> Shape:
        x = ins[0]
        rank = _spatial_rank(x, op)
        for k, p in zip(_per_dim(a["k"], rank, "k"), _per_dim(a["pad"], rank, "pad")):
            if p > k // 2:
                raise OpError(f"{op}: pad={p} must be at most half the kernel size {k}",
                              "RG405")
        return _window_shape(x, a, op, x[0])
    return rule


def _pool_label(op: str) -> Callable[[Args, list[Shape], Shape], str]:
    def label(a: Args, ins: list[Shape], out: Shape) -> str:
        rank = max(len(ins[0]) - 1, 1)
        text = f"{op} {_kernel_text(a['k'], rank)}"
        if a["stride"] != 1:
            text += f", /{a['stride']}"
        if a.get("ceil"):
            text += ", ceil"
        return text
    return label


def _gap_shape(ins: list[Shape], a: Args) -> Shape:
    x = ins[0]
    rank = _spatial_rank(x, "gap")
    return (x[0],) + (1,) * rank


def _upsample_shape(ins: list[Shape], a: Args) -> Shape:
    x = ins[0]
    rank = _spatial_rank(x, "upsample")
    allowed = {1: ("nearest", "linear"), 2: ("nearest", "bilinear", "bicubic"),
               3: ("nearest", "trilinear")}[rank]
    if a["mode"] not in allowed:
        raise OpError(f"upsample mode={a['mode']} does not fit a {rank}-D input; use one of "
                      + ", ".join(allowed), "RG405")
    sizes = [s * a["scale"] for s in x[1:]]
    if not all(math.isfinite(v) for v in sizes):
        raise OpError(f"upsample scale={a['scale']:g} makes {shape_text(x)} too large", "RG407")
    return (x[0], *(int(math.floor(v)) for v in sizes))


def _softmax_shape(ins: list[Shape], a: Args) -> Shape:
    rank = len(ins[0])
    if not -rank <= a["dim"] < rank:
        raise OpError(f"softmax dim={a['dim']} is out of range for an input of rank {rank} "
                      "(batch excluded)", "RG405")
    return ins[0]


# ---------------------------------------------------------------- layout ops (batch-less dims)


def _dim_index(op: str, name: str, d: int, x: Shape) -> int:
    """``d`` counted from the front (``-1`` is the last batch-less dim), or RG420."""
    rank = len(x)
    if not -rank <= d < rank:
        raise OpError(f"{op}: {name}={d} is out of range for an input of shape {shape_text(x)} "
                      f"(rank {rank}, batch excluded); use 0..{rank - 1}, or -{rank}..-1 to "
                      "count from the end", "RG420")
    return d % rank


def _adaptive_shape(ins: list[Shape], a: Args) -> Shape:
    x = ins[0]
    rank = _spatial_rank(x, "adaptiveavgpool")
    return (x[0], *_per_dim(a["size"], rank, "size"))


def _adaptive_label(a: Args, ins: list[Shape], out: Shape) -> str:
    return f"adaptive avgpool → {'×'.join(str(v) for v in out[1:])}"


def _listed(v: Any) -> list[int]:
    return list(v) if isinstance(v, list) else [v]


def _permute_shape(ins: list[Shape], a: Args) -> Shape:
    x, dims = ins[0], _listed(a["dims"])
    rank = len(x)
    if sorted(dims) != list(range(rank)):
        example = ", ".join(map(str, [*range(1, rank), 0]))
        raise OpError(f"permute({dims}) is not a permutation of the {rank} dims of "
                      f"{shape_text(x)} (batch excluded): list each of "
                      f"{', '.join(map(str, range(rank)))} once, e.g. permute([{example}]) "
                      "moves the channels last", "RG422")
    return tuple(x[d] for d in dims)


def _reshape_shape(ins: list[Shape], a: Args) -> Shape:
    x, want = ins[0], _listed(a["shape"])
    total = _prod(x)
    free = [i for i, v in enumerate(want) if v == -1]
    known = _prod(v for v in want if v != -1)
    if 0 in want or len(free) > 1 or (free and total % known) or (not free and known != total):
        if 0 in want or len(free) > 1:
            why = "every entry must be positive, or -1 once (the size that makes it fit)"
        else:
            why = (f"{shape_text(tuple(want))} holds {known:,} elements" if not free else
                   f"{total:,} is not a multiple of {known:,}, the product of the other "
                   "entries")
        raise OpError(f"reshape({want}) does not fit the {total:,} elements of "
                      f"{shape_text(x)} (batch excluded): {why}; give sizes whose product "
                      f"is {total:,}, or -1 for one of them", "RG423")
    return tuple(total // known if v == -1 else v for v in want)


def _flatten_shape(ins: list[Shape], a: Args) -> Shape:
    x = ins[0]
    start = _dim_index("flatten", "start", a["start"], x)
    end = _dim_index("flatten", "end", a["end"], x)
    if start > end:
        raise OpError(f"flatten(start={a['start']}, end={a['end']}): start is dim {start} "
                      f"but end is dim {end} of {shape_text(x)}; start must not come after "
                      "end (swap them)", "RG425")
    return (*x[:start], _prod(x[start:end + 1]), *x[end + 1:])


def _flatten_label(a: Args, ins: list[Shape], out: Shape) -> str:
    if (a["start"], a["end"]) == (0, -1):
        return "flatten"
    return f"flatten {a['start']}..{a['end']}"


def _slice_bounds(a: Args, x: Shape) -> tuple[int, int, int]:
    """The dim, and the start and stop counted from the front (negatives from the end)."""
    d = _dim_index("slice", "dim", a["dim"], x)
    size = x[d]
    start = a["start"] + size if a["start"] < 0 else a["start"]
    stop = a["stop"] + size if a["stop"] < 0 else a["stop"]
    if not 0 <= start < stop <= size:
        what = "channels" if d == 0 else f"dim {d}"
        raise OpError(f"slice({a['start']}, {a['stop']}) is out of range for {what} of "
                      f"size {size} in {shape_text(x)} (batch excluded): it needs "
                      f"0 <= start < stop <= {size}; e.g. slice(0, {max(size // 2, 1)}) "
                      "takes the first half", "RG421")
    return d, start, stop


def _slice_shape(ins: list[Shape], a: Args) -> Shape:
    x = ins[0]
    d, start, stop = _slice_bounds(a, x)
    return (*x[:d], stop - start, *x[d + 1:])


def _slice_label(a: Args, ins: list[Shape], out: Shape) -> str:
    text = f"slice {a['start']}:{a['stop']}"
    return text if a["dim"] == 0 else f"{text}, dim {a['dim']}"


def _shuffle_shape(ins: list[Shape], a: Args) -> Shape:
    x, g = ins[0], a["groups"]
    if len(x) < 2:
        raise OpError(f"shuffle needs channels and at least one more dim, [C, L], [C, H, W] "
                      f"or [C, D, H, W], got {shape_text(x)}", "RG402")
    if x[0] % g:
        lower = max(d for d in range(1, g + 1) if x[0] % d == 0)
        raise OpError(f"shuffle(groups={g}): the {x[0]} channels of {shape_text(x)} do not "
                      f"divide into {g} groups; use a divisor of {x[0]} such as {lower}, or "
                      f"make the channels a multiple of {g}", "RG424")
    return x


def _layernorm_shape(ins: list[Shape], a: Args) -> Shape:
    _dim_index("layernorm", "dim", a["dim"], ins[0])
    return ins[0]


def _layernorm_params(ins: list[Shape], out: Shape, a: Args) -> int:
    return 2 * ins[0][_dim_index("layernorm", "dim", a["dim"], ins[0])]


def _scale_shape(ins: list[Shape], a: Args) -> Shape:
    _dim_index("scale", "dim", a["dim"], ins[0])
    return ins[0]


def _scale_params(ins: list[Shape], out: Shape, a: Args) -> int:
    return ins[0][_dim_index("scale", "dim", a["dim"], ins[0])]


def scale_shape(x: Shape, dim: int) -> Shape:
    """The shape of ``scale``'s parameter on input ``x``: the size of ``dim``, 1 elsewhere.

    >>> scale_shape((96, 56, 56), 0), scale_shape((56, 56, 96), -1)
    ((96, 1, 1), (1, 1, 96))
    """
    d = dim % len(x)
    return tuple(n if i == d else 1 for i, n in enumerate(x))


# ---------------------------------------------------------------- merges (internal)


def _add_shape(ins: list[Shape], a: Args) -> Shape:
    for s in ins[1:]:
        if s != ins[0]:
            raise OpError(f"cannot add {shape_text(ins[0])} and {shape_text(s)}", "RG410")
    return ins[0]


def _concat_shape(ins: list[Shape], a: Args) -> Shape:
    first = ins[0]
    for s in ins[1:]:
        if len(s) != len(first) or s[1:] != first[1:]:
            raise OpError(f"cannot concatenate {shape_text(first)} and {shape_text(s)} on "
                          "channels: all but the channel dimension must match", "RG411")
    return (sum(s[0] for s in ins), *first[1:])


def _gate_shape(ins: list[Shape], a: Args) -> Shape:
    if len(ins[0]) not in (1, 2, 3, 4):
        raise OpError(f"a highway gate needs a vector or a feature map, got {shape_text(ins[0])}",
                      "RG402")
    return ins[0]


def _gate_params(ins: list[Shape], out: Shape, a: Args) -> int:
    c = ins[0][0]  # channels of a map, or features of a vector
    return c * c + c


def _gate_macs(ins: list[Shape], out: Shape, a: Args) -> int:
    return _prod(ins[0]) * ins[0][0]


def _mul_shape(ins: list[Shape], a: Args) -> Shape:
    x, f = ins[0], ins[1]
    if len(f) != len(x) or any(b not in (d, 1) for b, d in zip(f, x)):
        raise OpError(f"a gate F(x) of shape {shape_text(f)} does not broadcast over x "
                      f"{shape_text(x)}", "RG414")
    return x


def _pad_shape(ins: list[Shape], a: Args) -> Shape:
    x = ins[0]
    stride = a["stride"]
    return (a["channels"], *((s - 1) // stride + 1 for s in x[1:]))


# ---------------------------------------------------------------- the table


def _const(text: str) -> Callable[[Args, list[Shape], Shape], str]:
    return lambda a, ins, out: text


_BIAS = ArgSpec("bias", "bias", "auto")
_EPS = ArgSpec("eps", "float", 1e-5, minimum=0, open_min=True)


def _pad_default(a: Args) -> Any:
    """``same`` padding for odd kernels: ``dilation * (k - 1) // 2`` per dimension.

    >>> _pad_default({"k": 3, "dilation": [2, 2]}), _pad_default({"k": [3, 5], "dilation": 2})
    ([2, 2], [2, 4])
    """
    k, d = a["k"], a.get("dilation", 1)
    if isinstance(k, int) and isinstance(d, int):
        return d * (k - 1) // 2
    rank = len(k) if isinstance(k, list) else len(d)
    return [dd * (kk - 1) // 2 for kk, dd in zip(_per_dim(k, rank, "k"),
                                                 _per_dim(d, rank, "dilation"))]


_ACTIVATIONS = ('activations (`relu6`, `hardswish`, `hardsigmoid` are ReLU6, Hardswish, '
                'Hardsigmoid)')
_SPECS: list[OpSpec] = [
    OpSpec("conv", (ArgSpec("out", "int", minimum=1), ArgSpec("k", "ints", 3, minimum=1),
                    ArgSpec("stride", "ints", 1, minimum=1), ArgSpec("pad", "ints", _pad_default,
                                                                     minimum=0),
                    ArgSpec("groups", "int", 1, minimum=1),
                    ArgSpec("dilation", "ints", 1, minimum=1), _BIAS),
           _conv_shape, _conv_label, _conv_params, _conv_macs, weighted=1,
           meaning='ConvNd; `pad=auto` is `dilation·(k−1)//2` (= `k//2` without dilation); `k`, '
                   '`stride`, `pad`, `dilation` may be lists'),
    OpSpec("bn", (_EPS, ArgSpec("momentum", "float", 0.1, minimum=0, maximum=1)),
           _bn_shape, _const("bn"), _channel_affine,
           meaning='BatchNormNd (BatchNorm1d also on vectors `[C]`)'),
    OpSpec("layernorm", (_EPS, ArgSpec("dim", "int", -1)),
           _layernorm_shape,
           lambda a, i, o: "layernorm" if a["dim"] == -1 else f"layernorm, dim {a['dim']}",
           _layernorm_params,
           meaning='LayerNorm over one dim: the last by default; `dim=0` normalises the '
                   'channels of `[C, ...]` at every position (weight and bias `[C]`)'),
    OpSpec("groupnorm", (ArgSpec("groups", "int", minimum=1), _EPS),
           _groupnorm_shape, lambda a, i, o: f"groupnorm {a['groups']}", _channel_affine,
           meaning='GroupNorm'),
    OpSpec("rmsnorm", (ArgSpec("eps", "float", 1e-6, minimum=0, open_min=True),),
           _rmsnorm_shape, _const("rmsnorm"), lambda ins, out, a: ins[0][-1],
           meaning='RMSNorm over the last dim as HF\'s LlamaRMSNorm: `weight · x / '
                   'sqrt(mean(x²) + eps)`, computed in float32 and cast back'),
    OpSpec("linear", (ArgSpec("out", "int", minimum=1), _BIAS,
                      ArgSpec("layout", "word", "linear", ("linear", "conv1d"))),
           _linear_shape,
           lambda a, i, o: f"linear {a['out']}" + (" (conv1d)" if a.get("layout") == "conv1d"
                                                   else ""),
           _linear_params, _linear_macs,
           weighted=1, meaning='Linear on the last dim; `layout=conv1d` stores the weight '
                               '`[in, out]` (HF\'s Conv1D, GPT-2)'),
    *[OpSpec(n, (), _same, _const(n), meaning=_ACTIVATIONS) for n in
      ("relu", "silu", "sigmoid", "tanh", "relu6", "hardswish", "hardsigmoid")],
    OpSpec("gelu", (ArgSpec("approx", "word", "none", ("none", "tanh")),), _same,
           lambda a, i, o: "gelu (tanh)" if a.get("approx") == "tanh" else "gelu",
           meaning='GELU: the exact erf form, or `approx=tanh` for the tanh form (GPT-2)'),
    OpSpec("identity", (), _same, _const("identity"),
           meaning="passes its input through, of any dtype", input_dtype="any"),
    OpSpec("softmax", (ArgSpec("dim", "int", -1),), _softmax_shape, _const("softmax"),
           meaning='Softmax (dim counts batch-less dims)'),
    OpSpec("dropout", (ArgSpec("p", "float", 0.5, minimum=0, maximum=1, open_max=True),), _same,
           lambda a, i, o: f"dropout {a['p']:g}", meaning='Dropout'),
    OpSpec("maxpool", (ArgSpec("k", "ints", minimum=1),
                       ArgSpec("stride", "ints", lambda a: a["k"], minimum=1),
                       ArgSpec("pad", "ints", 0, minimum=0), ArgSpec("ceil", "bool", False)),
           _pool_shape("maxpool"), _pool_label("maxpool"),
           meaning='MaxPoolNd / AvgPoolNd (`pad` at most `k//2`; `ceil=true` is `ceil_mode`; '
                   'avgpool counts the padding)'),
    OpSpec("avgpool", (ArgSpec("k", "ints", minimum=1),
                       ArgSpec("stride", "ints", lambda a: a["k"], minimum=1),
                       ArgSpec("pad", "ints", 0, minimum=0), ArgSpec("ceil", "bool", False)),
           _pool_shape("avgpool"), _pool_label("avgpool"),
           meaning='MaxPoolNd / AvgPoolNd (`pad` at most `k//2`; `ceil=true` is `ceil_mode`; '
                   'avgpool counts the padding)'),
    OpSpec("gap", (), _gap_shape, _const("global avgpool"), meaning='AdaptiveAvgPoolNd(1)'),
    OpSpec("adaptiveavgpool", (ArgSpec("size", "ints", minimum=1),), _adaptive_shape,
           _adaptive_label, meaning='AdaptiveAvgPoolNd(size); `size` an int or a list per '
                                    'spatial dim'),
    OpSpec("flatten", (ArgSpec("start", "int", 0), ArgSpec("end", "int", -1)), _flatten_shape,
           _flatten_label, meaning='flatten batch-less dims `start`..`end` (by default all '
                                   'but the batch dim)'),
    OpSpec("permute", (ArgSpec("dims", "ints", minimum=0),), _permute_shape,
           lambda a, i, o: f"permute {_listed(a['dims'])}",
           meaning='permute the batch-less dims: `permute([1, 2, 0])` turns `[C, H, W]` into '
                   '`[H, W, C]`'),
    OpSpec("reshape", (ArgSpec("shape", "ints", minimum=-1),), _reshape_shape,
           lambda a, i, o: f"reshape {_listed(a['shape'])}",
           meaning='reshape the batch-less dims; one entry may be -1'),
    OpSpec("slice", (ArgSpec("start", "int"), ArgSpec("stop", "int"), ArgSpec("dim", "int", 0)),
           _slice_shape, _slice_label,
           meaning='`x[start:stop]` along batch-less dim `dim` (0: channels); negatives count '
                   'from the end'),
    OpSpec("shuffle", (ArgSpec("groups", "int", minimum=1),), _shuffle_shape,
           lambda a, i, o: f"channel shuffle, {a['groups']} groups",
           meaning='channel shuffle (ShuffleNet): `[g·n, ...]` viewed as `[g, n, ...]`, '
                   'transposed to `[n, g, ...]`'),
    OpSpec("scale", (ArgSpec("init", "float", 1.0), ArgSpec("dim", "int", 0)), _scale_shape,
           lambda a, i, o: "× learned scale" if a["dim"] == 0 else
           f"× learned scale, dim {a['dim']}", _scale_params,
           meaning='multiply by a learned tensor, the size of `dim` there and 1 elsewhere '
                   '(`[C, 1, 1]` on `[C, H, W]`), filled with `init`; a bare parameter '
                   'whose key is the node\'s path'),
    OpSpec("upsample", (ArgSpec("scale", "float", 2, minimum=0, open_min=True),
                        ArgSpec("mode", "word", "nearest",
                                ("nearest", "linear", "bilinear", "bicubic", "trilinear"))),
           _upsample_shape, lambda a, i, o: f"upsample, scale {a['scale']:g}",
           meaning='Upsample (`linear` 1-D, `bilinear`/`bicubic` 2-D, `trilinear` 3-D)'),
    OpSpec("embedding", (ArgSpec("num", "int", minimum=1), ArgSpec("dim", "int", minimum=1)),
           _embedding_shape, lambda a, i, o: f"embedding {a['num']}×{a['dim']}",
           lambda ins, out, a: a["num"] * a["dim"], weighted=1, input_dtype="long",
           meaning='Embedding (`[T]` long → `[T, dim]`)'),
    OpSpec("posembed", (ArgSpec("layout", "word", "param", ("param", "batched", "embedding")),),
           _seq_shape("posembed"), _const("+ pos. embedding"),
           lambda ins, out, a: _prod(ins[0]),
           meaning='learned position embedding added to `[T, d]`: a bare `[T, d]` parameter at '
                   'the node\'s path; `layout=batched` one of `[1, T, d]` (torchvision ViT); '
                   '`layout=embedding` an Embedding(T, d) of positions 0..T−1 (HF GPT-2, BERT)'),
    OpSpec("token", (ArgSpec("init", "float", 0.0),), _token_shape, _const("+ class token"),
           lambda ins, out, a: ins[0][1],
           meaning='prepends a learned token, `[T, d]` → `[T+1, d]`: a bare `[1, 1, d]` '
                   'parameter at the node\'s path filled with `init` (ViT\'s class_token)'),
    OpSpec("select", (ArgSpec("index", "int"), ArgSpec("dim", "int", 0)), _select_shape,
           _select_label,
           meaning='`x[index]` along batch-less dim `dim`, which it drops (`[T, d]` → `[d]`); '
                   'a negative index counts from the end'),
    OpSpec("attention", (ArgSpec("heads", "int", minimum=1), ArgSpec("causal", "bool", False),
                         ArgSpec("dropout", "float", 0.0, minimum=0, maximum=1),
                         ArgSpec("layout", "word", "fused", ATTENTION_LAYOUTS),
                         ArgSpec("kv_heads", "int", lambda a: a["heads"], minimum=1),
                         ArgSpec("rope", "float", 0.0, minimum=0),
                         ArgSpec("bias", "bool", True)),
           _attention_shape, _attention_label, _attention_params, _attention_macs, weighted=2,
           meaning='self-attention on `[T, d]`, scaled dot product; `layout` names its '
                   'parameters: `fused` qkv, out · `mha` in_proj_weight, out_proj '
                   '(nn.MultiheadAttention) · `conv1d` c_attn, c_proj `[in, out]` (GPT-2) · '
                   '`qkv` query, key, value, no output projection (BERT) · `proj` q_proj, '
                   'k_proj, v_proj, o_proj (Llama); `kv_heads` < heads is grouped-query '
                   '(`proj` only); `rope=θ` rotary embedding as HF Llama (0: none)'),
    OpSpec("wattention", (ArgSpec("heads", "int", minimum=1),
                          ArgSpec("window", "int", 7, minimum=1),
                          ArgSpec("shift", "int", 0, minimum=0),
                          ArgSpec("version", "int", 1, minimum=1, maximum=2)),
           _wattention_shape, _wattention_label, _wattention_params, _wattention_macs,
           weighted=2,
           meaning='Swin\'s shifted-window self-attention on a channels-last `[H, W, C]` map '
                   '(torchvision\'s ShiftedWindowAttention): padded to window multiples, '
                   'cyclically shifted by `shift` with its mask, `window`² tokens per window, '
                   'qkv and proj; `version=1` a learned relative position bias table, '
                   '`version=2` scaled cosine attention (logit_scale) with the continuous '
                   'position bias MLP cpb_mlp'),
    OpSpec("patchmerge", (ArgSpec("version", "int", 1, minimum=1, maximum=2), _EPS),
           _patchmerge_shape, lambda a, i, o: f"patch merging, {o[2]}",
           _patchmerge_params, _patchmerge_macs, weighted=1,
           meaning='Swin\'s patch merging `[H, W, C]` → `[⌈H/2⌉, ⌈W/2⌉, 2C]`: each 2×2 '
                   'neighbourhood (zero-padded to even sizes) concatenated to 4C, then a '
                   'bias-free linear `reduction` to 2C; the LayerNorm `norm` comes before it '
                   '(`version=1`, over 4C) or after it (`version=2`, over 2C)'),
    OpSpec("pattention", (ArgSpec("heads", "int", minimum=1),
                          ArgSpec("size", "int", 7, minimum=1),
                          ArgSpec("mode", "word", "window", ("window", "grid"))),
           _pattention_shape, _pattention_label, _pattention_params, _pattention_macs,
           weighted=2,
           meaning='MaxViT\'s partitioned self-attention on a channels-last `[H, W, C]` map '
                   '(torchvision\'s RelativePositionalMultiHeadAttention): `mode=window` '
                   'attends within each `size`×`size` block, `mode=grid` across a `size`×`size` '
                   'grid spanning the map (tokens H/size, W/size apart); to_qkv, merge, a '
                   'relative position bias table and its index buffer'),
    # internal: made by elaboration
    OpSpec("input", (ArgSpec("name", "any"),), _same, lambda a, i, o: a["name"],
           internal=True, input_dtype="any"),
    OpSpec("add", (ArgSpec("drop_path", "float", 0.0, minimum=0, maximum=1, open_max=True),),
           _add_shape,
           lambda a, i, o: "+" if not a["drop_path"] else f"+ (drop {a['drop_path']:g})",
           internal=True),
    OpSpec("concat", (), _concat_shape, _const("concat"), internal=True),
    OpSpec("gate", (ArgSpec("gate_bias", "float", -2.0),), _gate_shape,
           _const("T"), _gate_params, _gate_macs, internal=True),
    OpSpec("highway", (), lambda ins, a: _add_shape(ins[:2], a),
           _const("H·T + x·(1−T)"), internal=True),
    OpSpec("mul", (), _mul_shape, _const("×"), internal=True),  # the gate merge x · F(x)
    OpSpec("pad", (ArgSpec("stride", "int"), ArgSpec("channels", "int")), _pad_shape,
           lambda a, i, o: f"pad → {a['channels']}, /{a['stride']}", internal=True),
]

OPS: dict[str, OpSpec] = {s.name: s for s in _SPECS}
USER_OPS: tuple[str, ...] = tuple(s.name for s in _SPECS if not s.internal)
NORM_OPS = frozenset({"bn", "groupnorm", "layernorm", "rmsnorm"})
