"""MaxViT-T with torchvision's module layout.

Tu et al., "MaxViT: Multi-Axis Vision Transformer", 2022.

Written from the paper and torchvision's published layer names and state_dict (not its
code). ``stem`` = a 3×3/2 conv-bn-GELU ``0`` (conv ``0.0`` without bias, bn ``0.1``) and a
3×3 conv with bias ``1.0``; ``blocks.{j}.layers.{i}.layers`` holds each MaxViT layer's
``MBconv``, ``window_attention`` and ``grid_attention``; ``classifier`` = average pooling,
flatten, LayerNorm ``2``, Linear ``3``, Tanh, bias-free Linear ``5``. The first layer of
every stage has stride 2.

- MBconv: ``proj(x) + layers(x)``. ``layers`` = ``pre_norm`` (bn), ``conv_a`` (1×1 to 4C,
  bn, GELU), ``conv_b`` (depthwise 3×3 with the stride, bn, GELU), ``squeeze_excitation``
  (mean, ``fc1`` 1×1 to C/4, SiLU, ``fc2`` back to 4C, sigmoid, times the map), ``conv_c``
  (1×1 to C with bias). ``proj`` is a 3/2 average pool (padding 1, counted) then a 1×1 conv
  with bias at ``proj.1`` where the layer strides, ``proj.0`` alone where only the width
  changes, else the identity. Every bn has eps 1e-3 and momentum 0.01.
- Block and grid attention, each ``x + attn_layer(x)`` then ``x + mlp_layer(x)``:
  ``attn_layer`` = LayerNorm, the attention ``1``, Dropout; ``mlp_layer`` = LayerNorm,
  Linear to 4C, GELU, Linear back, Dropout (all LayerNorms eps 1e-5). Block attention lets
  the tokens of each P×P block of neighbours attend to each other; grid attention those of
  a P×P grid spread over the whole map (rows H/P apart, columns W/P apart). The attention
  holds ``to_qkv`` (C → 3C, split into q, k, v, then into heads of 32), ``merge`` (C → C),
  a ``relative_position_bias_table`` ``[(2P−1)², heads]`` and the ``relative_position_index``
  buffer ``[P², P²]`` that picks each token pair's entry by their row and column offsets;
  scores are ``q·k / sqrt(C)`` (the whole width, as torchvision's checkpoint expects).

Attention here runs partition by partition with explicit index gathers and scatters, a
different route from the compiled op's reshapes. Stochastic depth is the identity in eval;
its rates, 0.2·k/(K−1) for layer k of K, are kept in ``drop_rates`` for the tests.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


def _cna(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         _bn(cout), nn.GELU())


class SqueezeExcitation(nn.Module):
    def __init__(self, c: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.silu(self.fc1(s))))


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        mid = 4 * cout
        self.proj: nn.Module
        if stride == 2:
            self.proj = nn.Sequential(nn.AvgPool2d(3, 2, 1), nn.Conv2d(cin, cout, 1))
        elif cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1))
        else:
            self.proj = nn.Identity()
        self.layers = nn.Sequential(OrderedDict([
            ("pre_norm", _bn(cin)),
            ("conv_a", _cna(cin, mid, 1)),
            ("conv_b", _cna(mid, mid, 3, stride, mid)),
            ("squeeze_excitation", SqueezeExcitation(mid, cout // 4)),
            ("conv_c", nn.Conv2d(mid, cout, 1)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x) + self.layers(x)


class RelativeAttention(nn.Module):
    """Attention among the tokens of every partition of a ``[B, C, H, W]`` map."""

    def __init__(self, c: int, heads: int, p: int, grid: bool) -> None:
        super().__init__()
        self.heads, self.p, self.grid = heads, p, grid
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * p - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        pos = torch.tensor([(r, col) for r in range(p) for col in range(p)])
        off = pos[:, None, :] - pos[None, :, :] + (p - 1)
        self.register_buffer("relative_position_index", off[..., 0] * (2 * p - 1) + off[..., 1])
        self.to_qkv = nn.Linear(c, 3 * c)
        self.merge = nn.Linear(c, c)

    def partitions(self, h: int, w: int) -> list[torch.Tensor]:
        """Flat indices into the H·W map of every partition's tokens, row-major."""
        p, out = self.p, []
        if self.grid:
            sh, sw = h // p, w // p
            for a in range(sh):
                for b in range(sw):
                    out.append(torch.tensor([(i * sh + a) * w + j * sw + b
                                             for i in range(p) for j in range(p)]))
        else:
            for a in range(h // p):
                for b in range(w // p):
                    out.append(torch.tensor([(a * p + i) * w + b * p + j
                                             for i in range(p) for j in range(p)]))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, h, w, c = x.shape
        flat = x.reshape(batch, h * w, c)
        out = torch.empty_like(flat)
        n, heads = self.p * self.p, self.heads
        bias = self.relative_position_bias_table[self.relative_position_index]  # [n, n, heads]
        for idx in self.partitions(h, w):
            t = flat[:, idx]                                              # [B, n, C]
            q, k, v = self.to_qkv(t).chunk(3, dim=-1)
            q, k, v = (z.reshape(batch, n, heads, c // heads) for z in (q, k, v))
            scores = torch.einsum("bihd,bjhd->bhij", q, k) / c ** 0.5
            attn = (scores + bias.permute(2, 0, 1)).softmax(-1)
            y = torch.einsum("bhij,bjhd->bihd", attn, v).reshape(batch, n, c)
            out[:, idx] = self.merge(y)
        return out.reshape(batch, h, w, c)


class PartitionLayer(nn.Module):
    def __init__(self, c: int, heads: int, p: int, grid: bool) -> None:
        super().__init__()
        self.attn_layer = nn.Sequential(nn.LayerNorm(c), RelativeAttention(c, heads, p, grid),
                                        nn.Dropout(0.0))
        self.mlp_layer = nn.Sequential(nn.LayerNorm(c), nn.Linear(c, 4 * c), nn.GELU(),
                                       nn.Linear(4 * c, c), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:   # x: [B, H, W, C]
        x = x + self.attn_layer(x)
        return x + self.mlp_layer(x)


class MaxVitLayer(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, heads: int, p: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(OrderedDict([
            ("MBconv", MBConv(cin, cout, stride)),
            ("window_attention", PartitionLayer(cout, heads, p, grid=False)),
            ("grid_attention", PartitionLayer(cout, heads, p, grid=True)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers.MBconv(x).permute(0, 2, 3, 1)
        x = self.layers.grid_attention(self.layers.window_attention(x))
        return x.permute(0, 3, 1, 2)


class Stage(nn.Module):
    def __init__(self, cin: int, cout: int, n: int, heads: int, p: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(MaxVitLayer(cin if i == 0 else cout, cout,
                                                2 if i == 0 else 1, heads, p)
                                    for i in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MaxVit(nn.Module):
    def __init__(self, stem: int = 64, channels: tuple[int, ...] = (64, 128, 256, 512),
                 depths: tuple[int, ...] = (2, 2, 5, 2), head_dim: int = 32, p: int = 7,
                 sd: float = 0.2, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(_cna(3, stem, 3, 2),
                                  nn.Sequential(nn.Conv2d(stem, stem, 3, 1, 1)))
        widths = [stem, *channels]
        self.blocks = nn.ModuleList(Stage(widths[j], widths[j + 1], n, widths[j + 1] // head_dim,
                                          p) for j, n in enumerate(depths))
        total = sum(depths)
        self.drop_rates = [sd * k / (total - 1) for k in range(total)]
        c = channels[-1]
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(c),
                                        nn.Linear(c, c), nn.Tanh(),
                                        nn.Linear(c, classes, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.blocks:
            x = stage(x)
        return self.classifier(x)


def maxvit_t(num_classes: int = 1000) -> MaxVit:
    """MaxViT-T at 224: 30,919,624 parameters."""
    return MaxVit(classes=num_classes)
