# GPT-2 as a pre-norm decoder, with Hugging Face's GPT2LMHeadModel keys and a tied head.
# Radford, Wu, Child, Luan, Amodei and Sutskever, "Language Models are Unsupervised
# Multitask Learners", 2019.
# At the defaults this is GPT-2 small: 124,439,808 parameters, the output head sharing
# the token embedding's weight (counted once). The projections use the Conv1D layout of
# the released checkpoints (weight stored [in, out]), GELU is the tanh form, and the
# state_dict keys are transformer.wte, transformer.wpe, transformer.h.N.{ln_1, attn.c_attn,
# attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj}, transformer.ln_f and lm_head, so a
# GPT2LMHeadModel state_dict loads with strict=True.

# x + attn(ln_1(x)), then x + mlp(ln_2(x)); dropout 0.1 as HF's attn/resid_pdrop.
block gpt2_block(d, heads) {
    residual {
        ln_1: layernorm
        -> attn: attention(heads, causal=true, dropout=0.1, layout=conv1d) -> dropout(0.1)
    }
    -> residual {
        ln_2: layernorm
        -> mlp: (c_fc: linear(4 * d, layout=conv1d) -> gelu(approx=tanh)
                 -> c_proj: linear(d, layout=conv1d) -> dropout(0.1))
    }
}

network gpt2(vocab=50257, ctx=1024, d=768, layers=12, heads=12) {
    input tokens[ctx]: long
    tokens -> transformer: (wte: embedding(vocab, d) -> wpe: posembed(layout=embedding)
                            -> dropout(0.1)
                            -> h: (gpt2_block(d, heads) * layers)
                            -> ln_f: layernorm)
      -> lm_head: linear(vocab, bias=false, tied=wte)
}
