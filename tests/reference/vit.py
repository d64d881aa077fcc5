"""Vision Transformer B/16, B/32, L/16, L/32, H/14 with torchvision's module layout.

Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", 2021.

Written from the paper and torchvision's published layer names (not its code):
``conv_proj`` (a p×p conv of stride p, with bias) cuts the image into patches, whose
``[N, d, H/p, W/p]`` map is flattened to ``[N, T, d]`` tokens; ``class_token``
(``[1, 1, d]``, zeros) is prepended; ``encoder`` adds ``pos_embedding`` (``[1, T+1, d]``,
N(0, 0.02)), runs ``layers.encoder_layer_{i}`` and a final LayerNorm ``ln``; ``heads.head``
classifies the class token's state. An encoder layer is pre-norm:
``x + self_attention(ln_1(x))`` then ``x + mlp(ln_2(x))``, the attention being
``nn.MultiheadAttention`` (``in_proj_weight`` ``[3d, d]``, ``out_proj``) and the MLP
Linear ``0``, GELU ``1``, Dropout ``2``, Linear ``3``, Dropout ``4``. Every LayerNorm has
eps 1e-6; every dropout rate is 0.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


class MLPBlock(nn.Sequential):
    """Linear(d, mlp), GELU, Dropout, Linear(mlp, d), Dropout: keys ``0`` and ``3``."""

    def __init__(self, d: int, mlp: int) -> None:
        super().__init__(nn.Linear(d, mlp), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp, d),
                         nn.Dropout(0.0))


class EncoderBlock(nn.Module):
    def __init__(self, heads: int, d: int, mlp: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(d, heads, batch_first=True)
        self.dropout = nn.Dropout(0.0)
        self.ln_2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = MLPBlock(d, mlp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        h, _ = self.self_attention(h, h, h, need_weights=False)
        x = x + self.dropout(h)
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    def __init__(self, tokens: int, layers: int, heads: int, d: int, mlp: int) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, tokens, d).normal_(std=0.02))
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential(OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(heads, d, mlp)) for i in range(layers)))
        self.ln = nn.LayerNorm(d, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    def __init__(self, size: int, patch: int, layers: int, heads: int, d: int, mlp: int,
                 classes: int = 1000) -> None:
        super().__init__()
        assert size % patch == 0, "the image size must be a multiple of the patch size"
        self.d = d
        self.class_token = nn.Parameter(torch.zeros(1, 1, d))
        self.conv_proj = nn.Conv2d(3, d, patch, stride=patch)
        self.encoder = Encoder((size // patch) ** 2 + 1, layers, heads, d, mlp)
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(d, classes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        tokens = self.conv_proj(x).reshape(n, self.d, -1).permute(0, 2, 1)
        x = torch.cat([self.class_token.expand(n, -1, -1), tokens], dim=1)
        return self.heads(self.encoder(x)[:, 0])


def vit_b_16(classes: int = 1000, size: int = 224) -> VisionTransformer:
    return VisionTransformer(size, 16, 12, 12, 768, 3072, classes)


def vit_b_32(classes: int = 1000, size: int = 224) -> VisionTransformer:
    return VisionTransformer(size, 32, 12, 12, 768, 3072, classes)


def vit_l_16(classes: int = 1000, size: int = 224) -> VisionTransformer:
    return VisionTransformer(size, 16, 24, 16, 1024, 4096, classes)


def vit_l_32(classes: int = 1000, size: int = 224) -> VisionTransformer:
    return VisionTransformer(size, 32, 24, 16, 1024, 4096, classes)


def vit_h_14(classes: int = 1000, size: int = 518) -> VisionTransformer:
    return VisionTransformer(size, 14, 32, 16, 1280, 5120, classes)
