"""GPT-2 with Hugging Face ``GPT2LMHeadModel``'s state_dict layout, matching ``examples/gpt2.rg``.

Radford, Wu, Child, Luan, Amodei, Sutskever, "Language Models are Unsupervised
Multitask Learners", 2019. Token embedding ``transformer.wte`` plus a position embedding
``transformer.wpe`` (an ``nn.Embedding(ctx, d)``), ``layers`` pre-norm blocks
``transformer.h.N``: ``x + attn.c_proj(attn(ln_1(x)))`` then
``x + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(x))))``, a final ``transformer.ln_f`` and a
bias-free head ``lm_head``, tied to ``wte`` by default (``tied=False``: a separate copy).
The projections are HF's ``Conv1D``: ``y = x @ weight + bias`` with ``weight`` stored
``[in, out]`` (``c_attn``: d -> 3d, split into q, k, v; ``c_fc``: d -> 4d). Attention is
causal ``F.scaled_dot_product_attention``; GELU is the tanh approximation.

Written from the paper and HF's documented layout, without ``transformers``; the tests
also compare ``examples/gpt2.rg`` with ``transformers`` itself (tests/test_zoo_lm.py).
With the defaults (vocab 50257, ctx 1024, d 768, 12 heads, 12 layers) it has 124,439,808
parameters (the tied head counted once), 163,037,184 untied.

Example:
    >>> import torch
    >>> m = gpt2(vocab=100, ctx=16, d=32, heads=4, layers=2)
    >>> m(torch.zeros(3, 16, dtype=torch.long)).shape
    torch.Size([3, 16, 100])
    >>> m.lm_head.weight is m.transformer.wte.weight
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Conv1D(nn.Module):
    """HF GPT-2's projection: ``x @ weight + bias``, ``weight`` of shape ``[n_in, n_out]``."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out) * 0.02)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x @ weight + bias``."""
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).view(
            *x.shape[:-1], self.weight.shape[1])


class Attention(nn.Module):
    """Causal multi-head self-attention on ``[N, T, d]``: ``c_attn`` (d -> 3d), ``c_proj``."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"d={d} is not divisible by heads={heads}")
        self.heads = heads
        self.c_attn = Conv1D(d, 3 * d)
        self.c_proj = Conv1D(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``c_proj(softmax(q k^T / sqrt(d_head) + causal mask) v)``."""
        n, t, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=-1)
        q, k, v = (z.view(n, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(n, t, d))


class MLP(nn.Module):
    """``c_proj(gelu_tanh(c_fc(x)))``."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.c_fc = Conv1D(d, 4 * d)
        self.c_proj = Conv1D(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the two projections around GELU (tanh form)."""
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    """Pre-norm decoder block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = Attention(d, heads)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = MLP(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the two residual sub-layers."""
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """``wte``, ``wpe``, blocks ``h``, ``ln_f``: token ids ``[N, T]`` to states ``[N, T, d]``."""

    def __init__(self, vocab: int, ctx: int, d: int, heads: int, layers: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.h = nn.Sequential(*(Block(d, heads) for _ in range(layers)))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Embed tokens and positions ``0..T-1`` (``T <= ctx``), then the blocks."""
        pos = torch.arange(tokens.shape[-1], device=tokens.device)
        return self.ln_f(self.h(self.wte(tokens) + self.wpe(pos)))


class GPT2(nn.Module):
    """``transformer`` and ``lm_head`` (sharing ``transformer.wte``'s weight when tied)."""

    def __init__(self, vocab: int, ctx: int, d: int, heads: int, layers: int,
                 tied: bool = True) -> None:
        super().__init__()
        self.transformer = Transformer(vocab, ctx, d, heads, layers)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        if tied:
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Map token ids ``[N, T]`` to logits ``[N, T, vocab]``."""
        return self.lm_head(self.transformer(tokens))


def gpt2(
    vocab: int = 50257, ctx: int = 1024, d: int = 768, heads: int = 12, layers: int = 12,
    tied: bool = True,
) -> GPT2:
    """GPT-2 small (defaults) with its head tied; every size can be overridden."""
    return GPT2(vocab, ctx, d, heads, layers, tied)
