# Llama as a pre-norm decoder, with Hugging Face's LlamaForCausalLM keys.
# Touvron et al., "Llama 2: Open Foundation and Fine-Tuned Chat Models", 2023.
# At the defaults this is Llama-2-7B: 6,738,415,616 parameters (check it with
# `resgraph analyze`, which allocates no weights). RMSNorm (eps 1e-6), rotary position
# embeddings (theta 10000) on q and k, grouped-query attention with kv_heads key/value
# heads (kv_heads = heads is plain multi-head attention), a SwiGLU MLP, no biases, and an
# output head that is not tied to the token embedding. The keys are model.embed_tokens,
# model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj, post_attention_layernorm,
# mlp.{gate,up,down}_proj}, model.norm and lm_head.

# SwiGLU (Shazeer, "GLU Variants Improve Transformer", 2020): down(silu(gate(x)) * up(x)).
block swiglu(d, ffn) {
    parallel(merge=mul) {
        gate_proj: linear(ffn, bias=false) -> silu
        up_proj: linear(ffn, bias=false)
    }
    -> down_proj: linear(d, bias=false)
}

# x + self_attn(input_layernorm(x)), then x + mlp(post_attention_layernorm(x)).
block llama_layer(d, heads, kv_heads, ffn) {
    residual {
        input_layernorm: rmsnorm(eps=1e-6)
        -> self_attn: attention(heads, causal=true, layout=proj, kv_heads=kv_heads,
                                rope=10000.0, bias=false)
    }
    -> residual { post_attention_layernorm: rmsnorm(eps=1e-6) -> mlp: swiglu(d, ffn) }
}

network llama(vocab=32000, ctx=2048, d=4096, layers=32, heads=32, kv_heads=32, ffn=11008) {
    input tokens[ctx]: long
    tokens -> model: (embed_tokens: embedding(vocab, d)
                      -> layers: (llama_layer(d, heads, kv_heads, ffn) * layers)
                      -> norm: rmsnorm(eps=1e-6))
      -> lm_head: linear(vocab, bias=false)
}
