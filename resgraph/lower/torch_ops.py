"""Torch lowerings: :data:`LOWERINGS` maps every op of the registry to one function.

Each function receives a :class:`resgraph.lower.build.Step` (the IR node being lowered,
its fx inputs, and ``module`` / ``call`` / ``parameter`` to emit fx nodes) and returns
the fx node that holds the op's output. Ops with parameters become submodules at the
node's module path (``call_module``); parameterless ops are ``call_function`` nodes on
plain torch functions, so the generated code reads like hand-written PyTorch and needs
nothing but torch. The two classes below are the only modules that are not
``torch.nn``'s own; :func:`resgraph.lower.package.write_package` copies their source
into exported packages, so they must use nothing but ``torch``.

Adding an op: its :class:`~resgraph.ops.OpSpec` in :data:`resgraph.ops.OPS`, a function
here, and its entry in :data:`LOWERINGS` (a test checks that the two tables agree).

>>> import resgraph
>>> gm = resgraph.loads("network n() { input x[4]\\n x -> linear(3) -> relu }").compile()
>>> print(gm.code.strip().splitlines()[1].strip())
linear_0 = self.linear_0(x);  x = None
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from resgraph.ops import scale_shape

if TYPE_CHECKING:
    from torch.fx import Node

    from resgraph.lower.build import Step


class DropPath(nn.Module):
    """Stochastic depth: zero a whole sample's branch with probability ``p`` in training.

    Kept samples are scaled by ``1 / (1 - p)`` (as timm's ``drop_path``); in eval mode, or
    with ``p == 0``, the input passes through unchanged.

    >>> m = DropPath(p=0.5).eval()
    >>> bool((m(torch.ones(4, 3)) == 1).all())
    True
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask.div_(keep) if keep > 0.0 else x * mask

    def extra_repr(self) -> str:
        return f"p={self.p!r}"


class Conv1D(nn.Module):
    """HF's ``Conv1D``: a linear layer whose weight is stored ``[in, out]`` (GPT-2).

    ``y = x @ weight + bias``; initialised as HF does (weight N(0, 0.02), bias 0).

    >>> Conv1D(4, 3)(torch.ones(2, 5, 4)).shape, tuple(Conv1D(4, 3).weight.shape)
    (torch.Size([2, 5, 3]), (4, 3))
    """

    def __init__(self, nx: int, nf: int, bias: bool = True,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.nx, self.nf = nx, nf
        self.weight = nn.Parameter(torch.empty(nx, nf, device=device, dtype=dtype))
        if bias:
            self.bias: nn.Parameter | None = nn.Parameter(
                torch.zeros(nf, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        if self.weight.device.type != "meta":
            nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.nx)
        y = torch.addmm(self.bias, flat, self.weight) if self.bias is not None \
            else flat @ self.weight
        return y.view(*x.shape[:-1], self.nf)

    def extra_repr(self) -> str:
        return f"nx={self.nx}, nf={self.nf}, bias={self.bias is not None}"


class RMSNorm(nn.Module):
    """RMS normalisation over the last dim, as HF's ``LlamaRMSNorm``.

    ``weight · x / sqrt(mean(x²) + eps)``, computed in float32 and cast back to the input's
    dtype before the weight multiplies it.

    >>> RMSNorm(4)(torch.full((2, 4), 3.0))
    tensor([[1.0000, 1.0000, 1.0000, 1.0000],
            [1.0000, 1.0000, 1.0000, 1.0000]], grad_fn=<MulBackward0>)
    """

    def __init__(self, d: int, eps: float = 1e-6, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d, device=device, dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps!r}"


class SelfAttention(nn.Module):
    """Multi-head self-attention on ``[N, T, d]`` with a checkpoint's parameter layout.

    ``layout`` picks the parameters: ``fused`` (``qkv``, ``out``), ``mha``
    (``in_proj_weight``, ``in_proj_bias``, ``out_proj``: nn.MultiheadAttention's), ``conv1d``
    (``c_attn``, ``c_proj`` as HF :class:`Conv1D`: GPT-2), ``qkv`` (``query``, ``key``,
    ``value`` and no output projection: BERT) or ``proj`` (``q_proj``, ``k_proj``,
    ``v_proj``, ``o_proj``: Llama). ``kv_heads`` < ``heads`` shares each key/value head among
    ``heads / kv_heads`` query heads; ``rope`` > 0 applies :meth:`rotary` with that θ.
    Uses ``scaled_dot_product_attention``; ``dropout`` applies to the attention weights in
    training only.

    >>> m = SelfAttention(d=8, heads=2, causal=True)
    >>> m(torch.zeros(3, 5, 8)).shape
    torch.Size([3, 5, 8])
    >>> sorted(SelfAttention(8, 4, layout="proj", kv_heads=2, bias=False).state_dict())
    ['k_proj.weight', 'o_proj.weight', 'q_proj.weight', 'v_proj.weight']
    """

    def __init__(self, d: int, heads: int, causal: bool = False, dropout: float = 0.0,
                 layout: str = "fused", kv_heads: int | None = None, rope: float = 0.0,
                 bias: bool = True, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.d, self.heads, self.causal, self.dropout = d, heads, causal, dropout
        self.layout, self.rope = layout, rope
        self.kv_heads = heads if kv_heads is None else kv_heads
        self.kv = d // heads * self.kv_heads
        f: dict[str, Any] = {"device": device, "dtype": dtype}
        qkv = d + 2 * self.kv
        if layout == "fused":
            self.qkv = nn.Linear(d, qkv, bias=bias, **f)
            self.out = nn.Linear(d, d, bias=bias, **f)
        elif layout == "mha":  # nn.MultiheadAttention's parameters and initialisation
            self.in_proj_weight = nn.Parameter(torch.empty(qkv, d, **f))
            if bias:
                self.in_proj_bias: nn.Parameter | None = nn.Parameter(torch.zeros(qkv, **f))
            else:
                self.register_parameter("in_proj_bias", None)
            self.out_proj = nn.Linear(d, d, bias=bias, **f)
            if self.in_proj_weight.device.type != "meta":
                nn.init.xavier_uniform_(self.in_proj_weight)
                if self.out_proj.bias is not None:
                    nn.init.zeros_(self.out_proj.bias)
        elif layout == "conv1d":
            self.c_attn = Conv1D(d, qkv, bias=bias, **f)
            self.c_proj = Conv1D(d, d, bias=bias, **f)
        elif layout == "qkv":
            self.query = nn.Linear(d, d, bias=bias, **f)
            self.key = nn.Linear(d, self.kv, bias=bias, **f)
            self.value = nn.Linear(d, self.kv, bias=bias, **f)
        elif layout == "proj":
            self.q_proj = nn.Linear(d, d, bias=bias, **f)
            self.k_proj = nn.Linear(d, self.kv, bias=bias, **f)
            self.v_proj = nn.Linear(d, self.kv, bias=bias, **f)
            self.o_proj = nn.Linear(d, d, bias=bias, **f)
        else:
            raise ValueError(f"unknown attention layout {layout!r}")

    def _project(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sizes = [self.d, self.kv, self.kv]
        if self.layout == "fused":
            return tuple(self.qkv(x).split(sizes, dim=-1))
        if self.layout == "mha":
            return tuple(F.linear(x, self.in_proj_weight, self.in_proj_bias)
                         .split(sizes, dim=-1))
        if self.layout == "conv1d":
            return tuple(self.c_attn(x).split(sizes, dim=-1))
        if self.layout == "qkv":
            return self.query(x), self.key(x), self.value(x)
        return self.q_proj(x), self.k_proj(x), self.v_proj(x)

    def _output(self, y: torch.Tensor) -> torch.Tensor:
        if self.layout == "fused":
            return self.out(y)
        if self.layout == "mha":
            return self.out_proj(y)
        if self.layout == "conv1d":
            return self.c_proj(y)
        if self.layout == "qkv":
            return y
        return self.o_proj(y)

    @staticmethod
    def rotary(q: torch.Tensor, k: torch.Tensor,
               theta: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotary position embedding of ``q`` and ``k`` (``[N, heads, T, hd]``) at positions
        0..T−1, as HF Llama: ``inv_freq = 1 / θ^(2i/hd)``, angles in float32, then
        ``q·cos + rotate_half(q)·sin`` where ``rotate_half([x1, x2]) = [−x2, x1]``.
        """
        hd, t = q.shape[-1], q.shape[-2]
        inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64, device=q.device)
                                    .float() / hd))
        pos = torch.arange(t, device=q.device).float()
        freqs = (inv_freq[:, None] @ pos[None, :]).transpose(0, 1)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(q.dtype), emb.sin().to(q.dtype)

        def rotate_half(x: torch.Tensor) -> torch.Tensor:
            half = x.shape[-1] // 2
            return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

        return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        hd = d // self.heads
        q, k, v = self._project(x)
        q = q.view(n, t, self.heads, hd).transpose(1, 2)
        k = k.view(n, t, self.kv_heads, hd).transpose(1, 2)
        v = v.view(n, t, self.kv_heads, hd).transpose(1, 2)
        if self.rope:
            q, k = self.rotary(q, k, self.rope)
        if self.kv_heads != self.heads:
            k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=self.causal)
        return self._output(y.transpose(1, 2).reshape(n, t, d))

    def extra_repr(self) -> str:
        text = f"d={self.d}, heads={self.heads}, causal={self.causal}, dropout={self.dropout!r}"
        if self.layout != "fused":
            text += f", layout={self.layout!r}"
        if self.kv_heads != self.heads:
            text += f", kv_heads={self.kv_heads}"
        if self.rope:
            text += f", rope={self.rope!r}"
        return text


class WindowAttention(nn.Module):
    """Swin's shifted-window self-attention on channels-last maps ``[N, H, W, C]``.

    The parameters are torchvision's ``ShiftedWindowAttention`` (``version=1``: ``qkv``,
    ``proj``, ``relative_position_bias_table`` ``[(2w−1)², heads]``) or
    ``ShiftedWindowAttentionV2`` (``version=2``: ``logit_scale`` ``[heads, 1, 1]``, ``qkv``,
    ``proj``, the position-bias MLP ``cpb_mlp.0`` / ``cpb_mlp.2``); the buffers
    ``relative_position_index`` (both) and ``relative_coords_table`` (V2) are in the
    state_dict, as torchvision keeps them. The map is zero-padded at the bottom and right to
    window multiples, rolled up and left by ``shift`` (per dim, only where the padded size
    exceeds the window), cut into ``window``² windows whose tokens attend to each other
    (across a wrap-around seam masked with −100), then put back, rolled back and cropped.
    V1 scores are ``q·k / sqrt(head)`` plus the table's bias; V2 scores are the cosine of q
    and k times ``exp(min(logit_scale, log 100))`` plus ``16·sigmoid(cpb_mlp(coords))``, and
    the key part of ``qkv.bias`` is held at zero.

    >>> m = WindowAttention(8, heads=2, window=4, shift=2, version=2)
    >>> m(torch.zeros(1, 9, 6, 8)).shape
    torch.Size([1, 9, 6, 8])
    >>> list(m.state_dict())[:3]
    ['logit_scale', 'relative_coords_table', 'relative_position_index']
    """

    def __init__(self, c: int, heads: int, window: int = 7, shift: int = 0, version: int = 1,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.c, self.heads, self.window, self.shift, self.version = c, heads, window, shift, \
            version
        f: dict[str, Any] = {"device": device, "dtype": dtype}
        span = 2 * window - 1
        if version == 1:
            self.relative_position_bias_table = nn.Parameter(torch.zeros(span * span, heads,
                                                                         **f))
            if self.relative_position_bias_table.device.type != "meta":
                nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        else:
            self.logit_scale = nn.Parameter(torch.full((heads, 1, 1), math.log(10.0), **f))
            # offsets -(w-1)..w-1 per axis scaled to [-8, 8], then sign·log2(1 + |x|) / 3
            ticks = torch.arange(-(window - 1), window, dtype=torch.float32) / (window - 1) * 8
            grid = torch.stack(torch.meshgrid(ticks, ticks, indexing="ij"), dim=-1)
            table = torch.sign(grid) * torch.log2(grid.abs() + 1.0) / 3.0
            self.register_buffer("relative_coords_table",
                                 table.unsqueeze(0).to(device=device, dtype=dtype))
        pos = torch.arange(window)
        rows = pos.repeat_interleave(window)  # token t sits at (t // w, t % w)
        cols = pos.repeat(window)
        index = (rows[:, None] - rows[None, :] + window - 1) * span \
            + (cols[:, None] - cols[None, :] + window - 1)
        self.register_buffer("relative_position_index", index.flatten().to(device=device))
        self.qkv = nn.Linear(c, 3 * c, **f)
        self.proj = nn.Linear(c, c, **f)
        if version == 2:
            self.cpb_mlp = nn.Sequential(nn.Linear(2, 512, **f), nn.ReLU(inplace=True),
                                         nn.Linear(512, heads, bias=False, **f))

    def position_bias(self) -> torch.Tensor:
        """The bias added to every window's scores: ``[heads, w², w²]``."""
        n = self.window * self.window
        index: torch.Tensor = self.relative_position_index  # type: ignore[assignment]
        table: torch.Tensor
        if self.version == 1:
            table = self.relative_position_bias_table
        else:
            table = self.cpb_mlp(self.relative_coords_table).reshape(-1, self.heads)
        bias = table[index].view(n, n, self.heads).permute(2, 0, 1)
        return bias if self.version == 1 else 16 * torch.sigmoid(bias)

    @staticmethod
    def seam_mask(h: int, w: int, window: int, sh: int, sw: int,
                  like: torch.Tensor) -> torch.Tensor:
        """``[windows, w², w²]``: −100 between tokens of one shifted window that the roll
        brought together from opposite edges, 0 elsewhere."""
        def bands(size: int, s: int) -> torch.Tensor:
            i = torch.arange(size, device=like.device)
            return (i >= size - window).long() + (i >= size - s).long() if s else i * 0

        region = bands(h, sh)[:, None] * 3 + bands(w, sw)[None, :]
        region = region.view(h // window, window, w // window, window).transpose(1, 2)
        region = region.reshape(-1, window * window)
        apart = region[:, None, :] != region[:, :, None]
        return like.new_zeros(apart.shape).masked_fill(apart, -100.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h0, w0, c = x.shape
        ws, heads = self.window, self.heads
        x = F.pad(x, (0, 0, 0, (-w0) % ws, 0, (-h0) % ws))
        h, w = x.shape[1], x.shape[2]
        sh = self.shift if ws < h else 0
        sw = self.shift if ws < w else 0
        if sh or sw:
            x = torch.roll(x, (-sh, -sw), (1, 2))
        windows = (h // ws) * (w // ws)
        t = x.view(n, h // ws, ws, w // ws, ws, c).transpose(2, 3).reshape(-1, ws * ws, c)
        bias: torch.Tensor | None = self.qkv.bias
        if self.version == 2 and bias is not None:
            bias = torch.cat([bias[:c], torch.zeros_like(bias[c:2 * c]), bias[2 * c:]])
        q, k, v = F.linear(t, self.qkv.weight, bias).view(t.shape[0], ws * ws, 3, heads,
                                                          c // heads).permute(2, 0, 3, 1, 4)
        if self.version == 1:
            scores = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)
        else:
            scores = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            scores = scores * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
        scores = scores + self.position_bias()
        if sh or sw:
            mask = self.seam_mask(h, w, ws, sh, sw, scores)
            scores = (scores.view(n, windows, heads, ws * ws, ws * ws)
                      + mask[None, :, None]).view(-1, heads, ws * ws, ws * ws)
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(-1, ws * ws, c)
        y = self.proj(y).view(n, h // ws, w // ws, ws, ws, c).transpose(2, 3).reshape(n, h, w, c)
        if sh or sw:
            y = torch.roll(y, (sh, sw), (1, 2))
        return y[:, :h0, :w0].contiguous()

    def extra_repr(self) -> str:
        return (f"{self.c}, heads={self.heads}, window={self.window}, shift={self.shift}, "
                f"version={self.version}")


class PatchMerge(nn.Module):
    """Swin's patch merging on ``[N, H, W, C]`` → ``[N, ⌈H/2⌉, ⌈W/2⌉, 2C]``.

    Zero-pads H and W to even sizes, concatenates each 2×2 neighbourhood in torchvision's
    order ((0, 0), (1, 0), (0, 1), (1, 1) as (row, column)) to 4C, and reduces it with the
    bias-free linear ``reduction``; the LayerNorm ``norm`` comes first over 4C
    (``version=1``, torchvision's PatchMerging) or last over 2C (``version=2``).

    >>> PatchMerge(4, version=2)(torch.zeros(1, 5, 6, 4)).shape
    torch.Size([1, 3, 3, 8])
    """

    def __init__(self, c: int, version: int = 1, eps: float = 1e-5,
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.c, self.version, self.eps = c, version, eps
        self.reduction = nn.Linear(4 * c, 2 * c, bias=False, device=device, dtype=dtype)
        self.norm = nn.LayerNorm(4 * c if version == 1 else 2 * c, eps=eps, device=device,
                                 dtype=dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, 0, x.shape[2] % 2, 0, x.shape[1] % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
                      -1)
        if self.version == 1:
            return self.reduction(self.norm(x))
        return self.norm(self.reduction(x))

    def extra_repr(self) -> str:
        return f"{self.c}, version={self.version}, eps={self.eps!r}"


class PartitionAttention(nn.Module):
    """MaxViT's partitioned self-attention on channels-last maps ``[N, H, W, C]``.

    The parameters are torchvision's ``RelativePositionalMultiHeadAttention``:
    ``relative_position_bias_table`` ``[(2s−1)², heads]``, the buffer
    ``relative_position_index`` ``[s², s²]`` (in the state_dict, as torchvision keeps it),
    ``to_qkv`` (C → 3C) and ``merge`` (C → C). ``mode="window"`` cuts the map into blocks
    of ``size``×``size`` neighbouring tokens; ``mode="grid"`` into a ``size``×``size`` grid
    that spans the map, whose tokens lie ``H/size`` rows and ``W/size`` columns apart
    (MaxViT's block and grid attention). Tokens of one partition attend to each other in
    row-major order, the scores ``q·k · C^−½`` (torchvision scales by the whole width, not
    the head's) plus the table's bias; the result is put back in place.

    >>> m = PartitionAttention(8, heads=2, size=3, mode="grid")
    >>> m(torch.zeros(1, 6, 9, 8)).shape
    torch.Size([1, 6, 9, 8])
    >>> list(m.state_dict())[:3]
    ['relative_position_bias_table', 'relative_position_index', 'to_qkv.weight']
    """

    def __init__(self, c: int, heads: int, size: int = 7, mode: str = "window",
                 device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.c, self.heads, self.size, self.mode = c, heads, size, mode
        f: dict[str, Any] = {"device": device, "dtype": dtype}
        span = 2 * size - 1
        self.relative_position_bias_table = nn.Parameter(torch.zeros(span * span, heads, **f))
        if self.relative_position_bias_table.device.type != "meta":
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        pos = torch.arange(size)
        rows = pos.repeat_interleave(size)  # token t sits at (t // s, t % s)
        cols = pos.repeat(size)
        index = (rows[:, None] - rows[None, :] + size - 1) * span \
            + (cols[:, None] - cols[None, :] + size - 1)
        self.register_buffer("relative_position_index", index.to(device=device))
        self.to_qkv = nn.Linear(c, 3 * c, **f)
        self.merge = nn.Linear(c, c, **f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w, c = x.shape
        s, heads = self.size, self.heads
        if self.mode == "window":  # (batch, block row, row in block, block col, col, C)
            x = x.view(n, h // s, s, w // s, s, c).permute(0, 1, 3, 2, 4, 5)
        else:  # (batch, grid row, row offset, grid col, col offset, C)
            x = x.view(n, s, h // s, s, w // s, c).permute(0, 2, 4, 1, 3, 5)
        outer = x.shape[:3]
        t = x.reshape(-1, s * s, c)
        q, k, v = self.to_qkv(t).view(t.shape[0], s * s, 3, heads, c // heads) \
            .permute(2, 0, 3, 1, 4)
        index: torch.Tensor = self.relative_position_index  # type: ignore[assignment]
        bias = self.relative_position_bias_table[index].permute(2, 0, 1)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), scale=c ** -0.5)
        y = self.merge(y.transpose(1, 2).reshape(t.shape))
        y = y.view(*outer, s, s, c)
        if self.mode == "window":
            y = y.permute(0, 1, 3, 2, 4, 5)
        else:
            y = y.permute(0, 3, 1, 4, 2, 5)
        return y.reshape(n, h, w, c)

    def extra_repr(self) -> str:
        return f"{self.c}, heads={self.heads}, size={self.size}, mode={self.mode!r}"


#: Module classes of this file that exported packages carry as source.
PACKAGE_CLASSES: tuple[type[nn.Module], ...] = (DropPath, Conv1D, RMSNorm, SelfAttention,
                                                 WindowAttention, PatchMerge,
                                                 PartitionAttention)

# Ops whose output is a fresh tensor that their backward does not need: a relu that is
# their only consumer may work in place (as torchvision's ReLU(inplace=True) does).
_FRESH = frozenset({"conv", "bn", "linear", "groupnorm", "layernorm", "add", "concat",
                    "highway", "maxpool", "avgpool", "upsample", "attention",
                    "adaptiveavgpool", "scale", "rmsnorm", "token", "wattention",
                    "patchmerge", "pattention"})


def _rank(s: Step) -> int:
    return len(s.in_shapes[0]) - 1


def _tuple(v: int | list[int]) -> int | tuple[int, ...]:
    return tuple(v) if isinstance(v, list) else v


# ---------------------------------------------------------------- inputs and layers


def network_input(s: Step) -> Node:
    """A network input: a placeholder named after it (``input x[3, 32, 32]`` → ``x``)."""
    return s.placeholder(s.args["name"])


def conv(s: Step) -> Node:
    """``conv(64, 3)`` on ``[3, 32, 32]`` → ``Conv2d(3, 64, 3, padding=1)`` (1-D/3-D by rank)."""
    a = s.args
    # the class follows the input's rank at run time, and the tuples' lengths with it
    cls: Callable[..., nn.Module] = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[_rank(s) - 1]
    return s.module(cls(s.in_shapes[0][0], a["out"], _tuple(a["k"]), stride=_tuple(a["stride"]),
                        padding=_tuple(a["pad"]), dilation=_tuple(a["dilation"]),
                        groups=a["groups"], bias=a["bias"], **s.factory))


def bn(s: Step) -> Node:
    """``bn`` on ``[64, 8, 8]`` → ``BatchNorm2d(64)``; ``[C]`` and ``[C, L]`` → BatchNorm1d."""
    rank = max(len(s.in_shapes[0]) - 1, 1)
    cls = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[rank - 1]
    return s.module(cls(s.in_shapes[0][0], eps=s.args["eps"], momentum=s.args["momentum"],
                        **s.factory))


def layernorm(s: Step) -> Node:
    """``layernorm`` on ``[T, 768]`` → ``LayerNorm(768)`` (the last dimension).

    Over another dim, that dim is moved last around the same module, as torchvision's
    LayerNorm2d does: ``layernorm(dim=0)`` on ``[96, 56, 56]`` →
    ``torch.movedim(LayerNorm(96)(torch.movedim(x, 1, -1)), -1, 1)``.
    """
    shape = s.in_shapes[0]
    d = s.args.get("dim", -1) % len(shape)
    mod = nn.LayerNorm(shape[d], eps=s.args["eps"], **s.factory)
    if d == len(shape) - 1:
        return s.module(mod)
    x = s.call(torch.movedim, s.inputs[0], d + 1, -1, name=f"{s.name}_in")
    y = s.module(mod, x, name=f"{s.name}_norm")
    return s.call(torch.movedim, y, -1, d + 1)


def groupnorm(s: Step) -> Node:
    """``groupnorm(32)`` on ``[256, 14, 14]`` → ``GroupNorm(32, 256)``."""
    return s.module(nn.GroupNorm(s.args["groups"], s.in_shapes[0][0], eps=s.args["eps"],
                                 **s.factory))


def linear(s: Step) -> Node:
    """``linear(10)`` on ``[512]`` → ``Linear(512, 10)`` (on the last dimension);
    ``layout=conv1d`` → :class:`Conv1D` ``(512, 10)``, its weight stored ``[512, 10]``."""
    cls = Conv1D if s.args.get("layout", "linear") == "conv1d" else nn.Linear
    return s.module(cls(s.in_shapes[0][-1], s.args["out"], bias=s.args["bias"], **s.factory))


def rmsnorm(s: Step) -> Node:
    """``rmsnorm`` on ``[T, 4096]`` → :class:`RMSNorm` ``(4096, eps=1e-6)``."""
    return s.module(RMSNorm(s.in_shapes[0][-1], eps=s.args["eps"], **s.factory))


def embedding(s: Step) -> Node:
    """``embedding(50257, 768)`` on token ids ``[T]`` → ``Embedding(50257, 768)``."""
    return s.module(nn.Embedding(s.args["num"], s.args["dim"], **s.factory))


def scale(s: Step) -> Node:
    """``layer_scale: scale(1e-6)`` on ``[96, 56, 56]``: a bare parameter ``layer_scale`` of
    shape ``[96, 1, 1]`` filled with 1e-6, then ``layer_scale * x`` (ConvNeXt's layer scale).
    """
    weight = torch.full(scale_shape(s.in_shapes[0], s.args["dim"]), float(s.args["init"]),
                        **s.factory)
    w = s.parameter(nn.Parameter(weight))
    return s.call(operator.mul, w, s.inputs[0], name=f"{s.name}_out")


def posembed(s: Step) -> Node:
    """``posembed`` on ``[T, d]`` adds a learned ``[T, d]`` parameter (init N(0, 0.02)).

    Example: ``wpe: posembed`` registers the parameter ``wpe`` and emits ``wte + wpe``.
    ``layout=batched`` makes the parameter ``[1, T, d]`` (torchvision ViT's
    ``encoder.pos_embedding``); ``layout=embedding`` registers ``Embedding(T, d)`` at the path
    and adds ``wpe(torch.arange(T))`` (HF GPT-2's ``wpe``).
    """
    t, d = s.in_shapes[0]
    layout = s.args.get("layout", "param")
    if layout == "embedding":
        device = s.call(getattr, s.inputs[0], "device", name=f"{s.name}_device")
        pos = s.call(torch.arange, t, device=device, name=f"{s.name}_ids")
        emb = s.module(nn.Embedding(t, d, **s.factory), pos)
        return s.call(operator.add, s.inputs[0], emb, name=f"{s.name}_out")
    weight = torch.empty((1, t, d) if layout == "batched" else (t, d), **s.factory)
    if weight.device.type != "meta":
        nn.init.normal_(weight, std=0.02)
    w = s.parameter(nn.Parameter(weight))
    return s.call(operator.add, s.inputs[0], w, name=f"{s.name}_out")


def token(s: Step) -> Node:
    """``class_token: token`` on ``[T, d]``: a bare ``[1, 1, d]`` parameter ``class_token``
    (filled with ``init``), then ``torch.cat([class_token.expand(n, -1, -1), x], 1)``."""
    d = s.in_shapes[0][-1]
    w = s.parameter(nn.Parameter(torch.full((1, 1, d), float(s.args["init"]), **s.factory)))
    n = s.method("size", s.inputs[0], 0, name=f"{s.name}_n")
    batch = s.method("expand", w, n, -1, -1, name=f"{s.name}_batch")
    return s.call(torch.cat, [batch, s.inputs[0]], 1, name=f"{s.name}_out")


def select(s: Step) -> Node:
    """``select(0)`` on ``[T, d]`` → ``x[:, 0]``; ``dim`` picks another dim, a negative
    index counts from the end."""
    shape = s.in_shapes[0]
    d = s.args["dim"] % len(shape)
    i = s.args["index"] % shape[d]
    return s.call(operator.getitem, s.inputs[0], (slice(None),) * (d + 1) + (i,))


def attention(s: Step) -> Node:
    """``attention(12, causal=true)`` on ``[T, 768]`` → :class:`SelfAttention` (fused qkv);
    ``layout``, ``kv_heads``, ``rope`` and ``bias`` pass through to it."""
    a = s.args
    return s.module(SelfAttention(s.in_shapes[0][-1], a["heads"], causal=a["causal"],
                                  dropout=a["dropout"], layout=a.get("layout", "fused"),
                                  kv_heads=a.get("kv_heads"), rope=a.get("rope", 0.0),
                                  bias=a.get("bias", True), **s.factory))


def wattention(s: Step) -> Node:
    """``attn: wattention(3, window=7, shift=3)`` on ``[56, 56, 96]`` →
    :class:`WindowAttention` ``(96, heads=3, window=7, shift=3, version=1)``."""
    a = s.args
    return s.module(WindowAttention(s.in_shapes[0][-1], a["heads"], window=a["window"],
                                    shift=a["shift"], version=a["version"], **s.factory))


def patchmerge(s: Step) -> Node:
    """``patchmerge`` on ``[56, 56, 96]`` → :class:`PatchMerge` ``(96, version=1)``:
    ``[28, 28, 192]``."""
    return s.module(PatchMerge(s.in_shapes[0][-1], version=s.args["version"],
                               eps=s.args["eps"], **s.factory))


def pattention(s: Step) -> Node:
    """``attention: pattention(2, size=7, mode=grid)`` on ``[56, 56, 64]`` →
    :class:`PartitionAttention` ``(64, heads=2, size=7, mode='grid')``."""
    a = s.args
    return s.module(PartitionAttention(s.in_shapes[0][-1], a["heads"], size=a["size"],
                                       mode=a["mode"], **s.factory))


def dropout(s: Step) -> Node:
    """``dropout(0.5)`` → ``Dropout(p=0.5)`` (a module, so it follows train()/eval())."""
    return s.module(nn.Dropout(s.args["p"]))


# ---------------------------------------------------------------- parameterless ops


def identity(s: Step) -> Node:
    """``identity`` is elided: its consumers read its input directly."""
    return s.inputs[0]


def relu(s: Step) -> Node:
    """``relu`` → ``F.relu(x)``, in place when x is a fresh tensor nobody else reads."""
    if s.input_op(0) in _FRESH and s.sole_consumer(0):
        return s.call(F.relu, s.inputs[0], inplace=True)
    return s.call(F.relu, s.inputs[0])


def relu6(s: Step) -> Node:
    """``relu6`` → ``F.relu6(x)``, in place when x is a fresh tensor nobody else reads."""
    if s.input_op(0) in _FRESH and s.sole_consumer(0):
        return s.call(F.relu6, s.inputs[0], inplace=True)
    return s.call(F.relu6, s.inputs[0])


def hardswish(s: Step) -> Node:
    """``hardswish`` → ``F.hardswish(x)``: ``x · relu6(x + 3) / 6``."""
    return s.call(F.hardswish, s.inputs[0])


def hardsigmoid(s: Step) -> Node:
    """``hardsigmoid`` → ``F.hardsigmoid(x)``: ``relu6(x + 3) / 6``."""
    return s.call(F.hardsigmoid, s.inputs[0])


def gelu(s: Step) -> Node:
    """``gelu`` → ``F.gelu(x)`` (the exact erf form, PyTorch's default);
    ``gelu(approx=tanh)`` → ``F.gelu(x, approximate='tanh')``."""
    if s.args.get("approx", "none") == "tanh":
        return s.call(F.gelu, s.inputs[0], approximate="tanh")
    return s.call(F.gelu, s.inputs[0])


def silu(s: Step) -> Node:
    """``silu`` → ``F.silu(x)``."""
    return s.call(F.silu, s.inputs[0])


def sigmoid(s: Step) -> Node:
    """``sigmoid`` → ``torch.sigmoid(x)``."""
    return s.call(torch.sigmoid, s.inputs[0])


def tanh(s: Step) -> Node:
    """``tanh`` → ``torch.tanh(x)``."""
    return s.call(torch.tanh, s.inputs[0])


def softmax(s: Step) -> Node:
    """``softmax(dim=0)`` → ``torch.softmax(x, 1)``: dims are counted without the batch."""
    d = s.args["dim"]
    return s.call(torch.softmax, s.inputs[0], d + 1 if d >= 0 else d)


def _pool(s: Step, fns: tuple[Callable[..., torch.Tensor], ...]) -> Node:
    a = s.args
    fn, args = fns[_rank(s) - 1], (s.inputs[0], _tuple(a["k"]), _tuple(a["stride"]),
                                    _tuple(a["pad"]))
    if a.get("ceil"):
        return s.call(fn, *args, ceil_mode=True)
    return s.call(fn, *args)


def maxpool(s: Step) -> Node:
    """``maxpool(3, stride=2, pad=1)`` on a map → ``F.max_pool2d(x, 3, 2, 1)``;
    ``ceil=true`` adds ``ceil_mode=True``."""
    return _pool(s, (F.max_pool1d, F.max_pool2d, F.max_pool3d))


def avgpool(s: Step) -> Node:
    """``avgpool(2)`` on a map → ``F.avg_pool2d(x, 2, 2, 0)`` (padding counted, as
    PyTorch's default); ``ceil=true`` adds ``ceil_mode=True``."""
    return _pool(s, (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d))


def gap(s: Step) -> Node:
    """``gap`` on ``[C, H, W]`` → ``F.adaptive_avg_pool2d(x, 1)`` (``[C, 1, 1]``)."""
    fn = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[_rank(s) - 1]
    return s.call(fn, s.inputs[0], 1)


def adaptiveavgpool(s: Step) -> Node:
    """``adaptiveavgpool(7)`` on ``[C, H, W]`` → ``F.adaptive_avg_pool2d(x, (7, 7))``."""
    fn = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)[_rank(s) - 1]
    return s.call(fn, s.inputs[0], tuple(s.shape[1:]))


def flatten(s: Step) -> Node:
    """``flatten`` → ``torch.flatten(x, 1)``; ``flatten(1, 2)`` → ``torch.flatten(x, 2, 3)``."""
    start, end = s.args.get("start", 0), s.args.get("end", -1)
    rank = len(s.in_shapes[0])
    start, end = start % rank + 1, end % rank + 1
    if end == rank:
        return s.call(torch.flatten, s.inputs[0], start)
    return s.call(torch.flatten, s.inputs[0], start, end)


def permute(s: Step) -> Node:
    """``permute([1, 2, 0])`` on ``[C, H, W]`` → ``torch.permute(x, (0, 2, 3, 1))``."""
    dims = s.args["dims"]
    dims = dims if isinstance(dims, list) else [dims]
    return s.call(torch.permute, s.inputs[0], (0, *(d + 1 for d in dims)))


def reshape(s: Step) -> Node:
    """``reshape([-1, 4])`` on ``[8, 2, 2]`` → ``torch.reshape(x, (-1, 8, 4))`` (the batch
    size stays as it is; the inferred shape replaces the -1)."""
    return s.call(torch.reshape, s.inputs[0], (-1, *s.shape))


def slice_(s: Step) -> Node:
    """``slice(0, 58)`` on ``[116, 28, 28]`` → ``x[:, 0:58]``; ``dim`` picks another dim."""
    shape = s.in_shapes[0]
    d = s.args["dim"] % len(shape)
    start = s.args["start"] + shape[d] if s.args["start"] < 0 else s.args["start"]
    index = (slice(None),) * (d + 1) + (slice(start, start + s.shape[d]),)
    return s.call(operator.getitem, s.inputs[0], index)


def shuffle(s: Step) -> Node:
    """``shuffle(2)`` on ``[C, H, W]``: ``torch.unflatten(x, 1, (2, C // 2))``, transposed
    to ``(C // 2, 2)`` and flattened back: ShuffleNet's channel shuffle."""
    g = s.args["groups"]
    c = s.in_shapes[0][0]
    x = s.call(torch.unflatten, s.inputs[0], 1, (g, c // g), name=f"{s.name}_groups")
    x = s.call(torch.transpose, x, 1, 2, name=f"{s.name}_swap")
    return s.call(torch.flatten, x, 1, 2)


def upsample(s: Step) -> Node:
    """``upsample(2, mode=bilinear)`` → ``F.interpolate(x, scale_factor=2.0, mode='bilinear')``."""
    return s.call(F.interpolate, s.inputs[0], scale_factor=float(s.args["scale"]),
                  mode=s.args["mode"])


# ---------------------------------------------------------------- merges


def add(s: Step) -> Node:
    """A residual / skip-add merge: ``F(x) + s(x)``; ``drop_path`` drops ``F(x)`` per sample.

    Example: ``residual(drop_path=0.1) { ... }`` → ``drop = DropPath(p=0.1)(f); y = drop + x``.
    """
    ins = list(s.inputs)
    p = s.args.get("drop_path", 0.0)
    if p:
        ins[0] = s.module(DropPath(p), ins[0], path=s.free_path("drop_path"),
                          name=f"{s.name}_drop")
    # In place (``out += identity``, as torchvision's blocks do) where the first operand is
    # a fresh tensor of the output's shape that nobody else reads and whose producer's
    # backward does not need it; later terms of a 3+-way add accumulate into the first sum.
    same = all(tuple(shape) == tuple(s.shape) for shape in s.in_shapes)
    fresh = (not p and same and s.input_op(0) in _FRESH and s.sole_consumer(0)
             and all(other is not ins[0] for other in ins[1:]))
    out = ins[0]
    for i, other in enumerate(ins[1:], start=2):
        fn = operator.iadd if (fresh or (same and i > 2)) else operator.add
        out = s.call(fn, out, other, name=s.name if i == len(ins) else f"{s.name}_{i - 1}")
    return out


def concat(s: Step) -> Node:
    """A dense / skip-concat merge: ``torch.cat([x, h1, ...], 1)`` (channels)."""
    return s.call(torch.cat, list(s.inputs), 1)


def gate(s: Step) -> Node:
    """The highway transform gate ``T = sigmoid(W x + b)``, ``b`` initialised to gate_bias.

    ``W`` is a linear layer on vectors and a 1×1 conv on ``[C, ...]`` maps, e.g. on
    ``[64]``: ``Linear(64, 64)`` with its bias filled with -2.0, then ``torch.sigmoid``.
    """
    shape = s.in_shapes[0]
    c = shape[0]
    if len(shape) == 1:
        layer: nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d = nn.Linear(c, c, **s.factory)
    else:
        layer = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[len(shape) - 2](c, c, 1, **s.factory)
    assert layer.bias is not None  # both are built with a bias
    with torch.no_grad():
        layer.bias.fill_(float(s.args["gate_bias"]))
    logits = s.module(layer)
    return s.call(torch.sigmoid, logits, name=f"{s.name}_t")


def highway(s: Step) -> Node:
    """A highway merge of ``H, x, T`` (in port order): ``H * T + x * (1 - T)``."""
    h, x, t = s.inputs
    ht = s.call(operator.mul, h, t, name=f"{s.name}_transform")
    carry = s.call(operator.sub, 1.0, t, name=f"{s.name}_carry")
    xc = s.call(operator.mul, x, carry, name=f"{s.name}_carried")
    return s.call(operator.add, ht, xc)


def mul(s: Step) -> Node:
    """A gate merge of ``x, F(x)`` (in port order): ``x * F(x)``, F broadcast ([C,1,1])."""
    x, f = s.inputs
    return s.call(operator.mul, x, f)


def pad(s: Step) -> Node:
    """Option-A shortcut: ``x[:, :, ::2, ::2]`` then zero channels, half in front.

    Example: 16 → 32 channels at stride 2 → ``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 8, 8))``.
    """
    x = s.inputs[0]
    shape = s.in_shapes[0]
    stride, cout = s.args["stride"], s.args["channels"]
    spatial = len(shape) - 1
    if stride != 1 and spatial:
        index = (slice(None), slice(None)) + (slice(None, None, stride),) * spatial
        x = s.call(operator.getitem, x, index, name=f"{s.name}_sub")
    extra = cout - shape[0]
    if extra == 0:
        return x
    front = extra // 2
    return s.call(F.pad, x, (0, 0) * spatial + (front, extra - front))


# ---------------------------------------------------------------- the table


#: A lowering: the IR node being lowered (a Step) → the fx node that holds its output.
Lowering = Callable[["Step"], "Node"]

LOWERINGS: dict[str, Lowering] = {
    "input": network_input,
    "conv": conv,
    "bn": bn,
    "layernorm": layernorm,
    "groupnorm": groupnorm,
    "linear": linear,
    "embedding": embedding,
    "posembed": posembed,
    "token": token,
    "select": select,
    "rmsnorm": rmsnorm,
    "attention": attention,
    "wattention": wattention,
    "patchmerge": patchmerge,
    "pattention": pattention,
    "dropout": dropout,
    "identity": identity,
    "relu": relu,
    "gelu": gelu,
    "silu": silu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu6": relu6,
    "hardswish": hardswish,
    "hardsigmoid": hardsigmoid,
    "softmax": softmax,
    "maxpool": maxpool,
    "avgpool": avgpool,
    "gap": gap,
    "adaptiveavgpool": adaptiveavgpool,
    "flatten": flatten,
    "permute": permute,
    "reshape": reshape,
    "slice": slice_,
    "shuffle": shuffle,
    "scale": scale,
    "upsample": upsample,
    "add": add,
    "concat": concat,
    "gate": gate,
    "highway": highway,
    "mul": mul,
    "pad": pad,
}
"""Op name (a key of :data:`resgraph.ops.OPS`) → the function that lowers it.

>>> LOWERINGS["input"].__name__, LOWERINGS["conv"].__name__
('network_input', 'conv')
"""
