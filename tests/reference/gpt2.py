"""A GPT-2-style pre-norm decoder matching ``examples/gpt2.rg``.

Radford, Wu, Child, Luan, Amodei, Sutskever, "Language Models are Unsupervised
Multitask Learners", 2019. Token embedding plus a learned positional embedding
(an ``nn.Parameter`` of shape ``[ctx, d]``), ``layers`` pre-norm blocks
``x + attn(ln_1(x))`` then ``x + proj(gelu(fc(ln_2(x))))`` (``fc``: d -> 4d,
``proj``: 4d -> d), a final layernorm and a bias-free linear head that is *not*
tied to the token embedding. Module names follow ``examples/gpt2.rg``
(``wte``, ``wpe``, ``h.0.ln_1``, ``h.0.attn``, ``h.0.fc``, ``ln_f``, ``lm_head``).
Attention uses a fused ``qkv = Linear(d, 3d)``, an output
``Linear(d, d)`` and causal ``F.scaled_dot_product_attention``; ``gelu`` is
PyTorch's exact erf form (``nn.GELU()``'s default), not GPT-2's tanh approximation.

With the defaults (vocab 50257, ctx 1024, d 768, 12 heads, 12 layers) it has
163,037,184 parameters: GPT-2 small's 124,439,808 plus the untied head.

Example:
    >>> import torch
    >>> m = gpt2(vocab=100, ctx=16, d=32, heads=4, layers=2)
    >>> m(torch.zeros(3, 16, dtype=torch.long)).shape
    torch.Size([3, 16, 100])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention on ``[N, T, d]`` with a fused qkv projection."""

    def __init__(self, d: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"d={d} is not divisible by heads={heads}")
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``out(softmax(q k^T / sqrt(d_head) + causal mask) v)``."""
        n, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (z.view(n, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(n, t, d))


class Block(nn.Module):
    """Pre-norm decoder block: ``x + attn(ln_1(x))``, then ``x + proj(gelu(fc(ln_2(x))))``."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = CausalSelfAttention(d, heads)
        self.ln_2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the two residual sub-layers."""
        x = x + self.attn(self.ln_1(x))
        return x + self.proj(F.gelu(self.fc(self.ln_2(x))))


class GPT2(nn.Module):
    """``wte``, ``wpe`` (parameter ``[ctx, d]``), blocks ``h``, ``ln_f``, ``lm_head``."""

    def __init__(self, vocab: int, ctx: int, d: int, heads: int, layers: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Parameter(torch.zeros(ctx, d))
        nn.init.normal_(self.wpe, std=0.02)
        self.h = nn.Sequential(*(Block(d, heads) for _ in range(layers)))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Map token ids ``[N, T]`` (``T <= ctx``) to logits ``[N, T, vocab]``."""
        x = self.wte(tokens) + self.wpe[: tokens.shape[-1]]
        return self.lm_head(self.ln_f(self.h(x)))


def gpt2(
    vocab: int = 50257, ctx: int = 1024, d: int = 768, heads: int = 12, layers: int = 12
) -> GPT2:
    """GPT-2 small with an untied head (defaults); every size can be overridden."""
    return GPT2(vocab, ctx, d, heads, layers)
