# BERT as a post-norm encoder, with Hugging Face's BertModel keys.
# Devlin, Chang, Lee and Toutanova, "BERT: Pre-training of Deep Bidirectional
# Transformers for Language Understanding", 2019.
# At the defaults this is BERT-base: 109,482,240 parameters. Two inputs, the token ids
# and the token types; two outputs, the last hidden state [ctx, d] and the pooled
# [d] (tanh of a linear layer on the first token). Attention is bidirectional, with
# separate query, key and value projections; every sub-layer is
# LayerNorm(x + dropout(dense(F(x)))) with eps 1e-12, and GELU is the exact erf form.

# attention.self, then attention.output: LayerNorm(x + dropout(dense(self(x)))).
block bert_attention(d, heads) {
    self: attention(heads, dropout=0.1, layout=qkv)
    -> output: (dense: linear(d) -> dropout(0.1) -> LayerNorm: layernorm(eps=1e-12))
    residual in -> LayerNorm
}

block bert_intermediate(ffn) { dense: linear(ffn) -> gelu }

# encoder.layer.N: attention, intermediate, then output: LayerNorm(a + dropout(dense(i))).
block bert_layer(d, heads, ffn) {
    attention: bert_attention(d, heads)
    -> intermediate: bert_intermediate(ffn)
    -> output: (dense: linear(d) -> dropout(0.1) -> LayerNorm: layernorm(eps=1e-12))
    residual attention -> LayerNorm
}

network bert(vocab=30522, ctx=512, d=768, layers=12, heads=12, ffn=3072, types=2) {
    input tokens[ctx]: long
    input token_types[ctx]: long
    # embeddings: LayerNorm(word + token type + position). The labelled one-branch group
    # is the scope `embeddings`; its inner sum adds no level.
    tokens -> embeddings: parallel {
        parallel(merge=add) {
            word_embeddings: embedding(vocab, d)
            token_types -> token_type_embeddings: embedding(types, d)
        }
        -> position_embeddings: posembed(layout=embedding)
        -> LayerNorm: layernorm(eps=1e-12) -> dropout(0.1)
    }
    -> encoder: (layer: bert_layer(d, heads, ffn) * layers)
    -> pooler: (select(0) -> dense: linear(d) -> tanh)
    output encoder, pooler
}
