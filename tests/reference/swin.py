"""Swin Transformer T/S/B and Swin V2 T/S/B with torchvision's module layout.

Liu et al., "Swin Transformer: Hierarchical Vision Transformer using Shifted Windows", 2021;
"Swin Transformer V2: Scaling Up Capacity and Resolution", 2022.

Written from the papers and torchvision's published layer names and state_dict (not its
code). ``features`` = stem ``0`` (conv p×p/p with bias ``0``, permute to channels-last ``1``,
LayerNorm ``2``), stages of blocks at ``1, 3, 5, 7`` and patch merging at ``2, 4, 6``; then
``norm``, average pooling and ``head``. A block holds ``norm1``, ``attn`` (``qkv``, ``proj``
and the position bias), ``norm2`` and ``mlp`` (Linear ``0``, GELU, Dropout, Linear ``3``,
Dropout). V1 blocks are pre-norm, ``x + attn(norm1(x))``; V2 blocks post-norm,
``x + norm1(attn(x))``. Odd blocks of a stage shift their windows by half a window, unless
the (padded) map is no larger than a window along that axis.

Attention runs here window by window with explicit gathers, a different route from the
compiled op's reshapes: the map is zero-padded at the bottom and right to window multiples
and rolled by ``-shift``; a token may attend to another in its window only if both or
neither came across the roll's wrap-around, per axis (else −100 is added to the score).
V1 adds a learned ``relative_position_bias_table`` ``[(2w−1)², heads]`` read through the
``relative_position_index`` buffer; V2 scores are cosines times ``exp(min(logit_scale,
log 100))``, plus ``16·sigmoid`` of the MLP ``cpb_mlp`` (2 → 512 → heads) applied to the
``relative_coords_table`` buffer (log-spaced relative coordinates), and its qkv bias has the
key third held at zero. Patch merging pads to even sizes and concatenates the 2×2 cells in
the order (0, 0), (1, 0), (0, 1), (1, 1) (row, column); V1 normalises the 4C vector before
``reduction``, V2 the 2C result after it. Every LayerNorm has eps 1e-5. Stochastic depth
is the identity in eval; its rates are kept in ``drop_rates`` for the tests.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _offsets(w: int) -> torch.Tensor:
    """Relative offsets (dy, dx) of every ordered token pair of a window: ``[w², w², 2]``."""
    pos = torch.tensor([(r, c) for r in range(w) for c in range(w)])
    return pos[:, None, :] - pos[None, :, :]


class WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, shift: int, v2: bool) -> None:
        super().__init__()
        self.heads, self.window, self.shift, self.v2 = heads, window, shift, v2
        span = 2 * window - 1
        if v2:
            self.logit_scale = nn.Parameter(torch.full((heads, 1, 1), math.log(10.0)))
            grid = torch.tensor([[(dy / (window - 1) * 8, dx / (window - 1) * 8)
                                  for dx in range(-window + 1, window)]
                                 for dy in range(-window + 1, window)])
            coords = grid.sign() * (grid.abs() + 1).log2() / 3
            self.register_buffer("relative_coords_table", coords[None].float())
        else:
            self.relative_position_bias_table = nn.Parameter(torch.zeros(span * span, heads))
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        off = _offsets(window) + (window - 1)
        self.register_buffer("relative_position_index", (off[..., 0] * span + off[..., 1])
                             .reshape(-1))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        if v2:
            self.cpb_mlp = nn.Sequential(nn.Linear(2, 512), nn.ReLU(), nn.Linear(512, heads,
                                                                                 bias=False))

    def bias(self) -> torch.Tensor:
        n = self.window ** 2
        table = self.cpb_mlp(self.relative_coords_table).reshape(-1, self.heads) if self.v2 \
            else self.relative_position_bias_table
        b = table[self.relative_position_index].reshape(n, n, self.heads).permute(2, 0, 1)
        return 16 * torch.sigmoid(b) if self.v2 else b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, h, w, c = x.shape
        ws, heads, hd = self.window, self.heads, c // self.heads
        ph, pw = math.ceil(h / ws) * ws, math.ceil(w / ws) * ws
        x = F.pad(x, (0, 0, 0, pw - w, 0, ph - h))
        sy = self.shift if ph > ws else 0
        sx = self.shift if pw > ws else 0
        x = torch.roll(x, shifts=(-sy, -sx), dims=(1, 2))
        # wrapped[r, c]: did the token at rolled position (r, c) cross the seam, per axis
        wrap_y = torch.arange(ph) + sy >= ph
        wrap_x = torch.arange(pw) + sx >= pw
        wq, wk, wv = self.qkv.weight.chunk(3)
        bq, bk, bv = self.qkv.bias.chunk(3)
        if self.v2:
            bk = torch.zeros_like(bk)
        out = torch.zeros_like(x)
        bias = self.bias()
        for r0 in range(0, ph, ws):
            for c0 in range(0, pw, ws):
                t = x[:, r0:r0 + ws, c0:c0 + ws].reshape(batch, ws * ws, c)
                q = F.linear(t, wq, bq).reshape(batch, -1, heads, hd).transpose(1, 2)
                k = F.linear(t, wk, bk).reshape(batch, -1, heads, hd).transpose(1, 2)
                v = F.linear(t, wv, bv).reshape(batch, -1, heads, hd).transpose(1, 2)
                if self.v2:
                    s = torch.einsum("bhid,bhjd->bhij", F.normalize(q, dim=-1),
                                     F.normalize(k, dim=-1))
                    s = s * self.logit_scale.clamp(max=math.log(100.0)).exp()
                else:
                    s = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(hd)
                s = s + bias
                fy = wrap_y[r0:r0 + ws].repeat_interleave(ws)
                fx = wrap_x[c0:c0 + ws].repeat(ws)
                apart = (fy[:, None] != fy[None, :]) | (fx[:, None] != fx[None, :])
                s = s - 100.0 * apart.float()
                y = torch.einsum("bhij,bhjd->bhid", s.softmax(-1), v)
                y = self.proj(y.transpose(1, 2).reshape(batch, ws * ws, c))
                out[:, r0:r0 + ws, c0:c0 + ws] = y.reshape(batch, ws, ws, c)
        out = torch.roll(out, shifts=(sy, sx), dims=(1, 2))
        return out[:, :h, :w]


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, shift: int, v2: bool) -> None:
        super().__init__()
        self.v2 = v2
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window, shift, v2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(4 * dim, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.v2:
            x = x + self.norm1(self.attn(x))
            return x + self.norm2(self.mlp(x))
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int, v2: bool) -> None:
        super().__init__()
        self.v2 = v2
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim if v2 else 4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h, w, _ = x.shape
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        cells = [x[:, r::2, c::2] for c in (0, 1) for r in (0, 1)]
        x = torch.cat(cells, dim=-1)
        return self.norm(self.reduction(x)) if self.v2 else self.reduction(self.norm(x))


class Permute(nn.Module):
    def __init__(self, *dims: int) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


class SwinTransformer(nn.Module):
    def __init__(self, patch: int, embed: int, depths: list[int], heads: list[int],
                 window: int, sd: float, classes: int = 1000, v2: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, embed, patch, stride=patch),
                                                 Permute(0, 2, 3, 1), nn.LayerNorm(embed))]
        total, k = sum(depths), 0
        self.drop_rates: list[float] = []
        for s, (n, nh) in enumerate(zip(depths, heads)):
            dim = embed * 2 ** s
            blocks = []
            for i in range(n):
                blocks.append(Block(dim, nh, window, window // 2 if i % 2 else 0, v2))
                self.drop_rates.append(sd * k / (total - 1))
                k += 1
            layers.append(nn.Sequential(*blocks))
            if s < len(depths) - 1:
                layers.append(PatchMerging(dim, v2))
        self.features = nn.Sequential(*layers)
        width = embed * 2 ** (len(depths) - 1)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.features(x))
        return self.head(x.mean(dim=(1, 2)))


def swin_t(classes: int = 1000) -> SwinTransformer:
    return SwinTransformer(4, 96, [2, 2, 6, 2], [3, 6, 12, 24], 7, 0.2, classes)


def swin_s(classes: int = 1000) -> SwinTransformer:
    return SwinTransformer(4, 96, [2, 2, 18, 2], [3, 6, 12, 24], 7, 0.3, classes)


def swin_b(classes: int = 1000) -> SwinTransformer:
    return SwinTransformer(4, 128, [2, 2, 18, 2], [4, 8, 16, 32], 7, 0.5, classes)


def swin_v2_t(classes: int = 1000) -> SwinTransformer:
    return SwinTransformer(4, 96, [2, 2, 6, 2], [3, 6, 12, 24], 8, 0.2, classes, v2=True)


def swin_v2_s(classes: int = 1000) -> SwinTransformer:
    return SwinTransformer(4, 96, [2, 2, 18, 2], [3, 6, 12, 24], 8, 0.3, classes, v2=True)


def swin_v2_b(classes: int = 1000) -> SwinTransformer:
    return SwinTransformer(4, 128, [2, 2, 18, 2], [4, 8, 16, 32], 8, 0.5, classes, v2=True)
