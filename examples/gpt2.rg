# GPT-2 small as a pre-norm decoder (163,037,184 parameters with the defaults).
# Radford, Wu, Child, Luan, Amodei and Sutskever, "Language Models are Unsupervised
# Multitask Learners", 2019.
# The output head is a separate bias-free linear layer: it is NOT tied to the token
# embedding as in the released GPT-2, so it adds vocab * d = 38,597,376 parameters
# to GPT-2 small's 124,439,808. gelu is PyTorch's default (exact) GELU, not the
# tanh approximation of the original code.

# x + attn(ln_1(x)), then x + mlp(ln_2(x)).
block decoder(d, heads) {
    residual { ln_1: layernorm -> attn: attention(heads, causal=true) }
    -> residual { ln_2: layernorm -> fc: linear(4 * d) -> gelu -> proj: linear(d) }
}

network gpt2(vocab=50257, ctx=1024, d=768, heads=12, layers=12) {
    input tokens[ctx]: long
    tokens -> wte: embedding(vocab, d) -> wpe: posembed
      -> h: (decoder(d, heads) * layers)
      -> ln_f: layernorm -> lm_head: linear(vocab, bias=false)
}
