# Vision Transformer B/16, B/32, L/16, L/32, H/14, torchvision layout: the published
# checkpoints load with strict=True. Dosovitskiy et al. 2021 ("An Image is Worth 16x16 Words").
# Patches by a stride-p conv, a class token, learned [1, T, d] position embeddings, pre-norm
# encoder layers (LayerNorm eps 1e-6), the class token's final state into the head.

# x + attention(ln_1(x)), then x + mlp(ln_2(x)); nn.MultiheadAttention's parameter names.
block encoder_layer(heads, d, mlp) {
    residual { ln_1: layernorm(1e-6) -> self_attention: attention(heads, layout=mha)
               -> dropout(0.0) }
    -> residual { ln_2: layernorm(1e-6)
                  -> mlp: (linear(mlp) -> gelu -> dropout(0.0) -> linear(d) -> dropout(0.0)) }
}

block encoder(d, layers, heads, mlp) {
    pos_embedding: posembed(layout=batched) -> dropout(0.0)
    -> layers: ("encoder_layer_{i}": encoder_layer(heads, d, mlp) * layers as i)
    -> ln: layernorm(1e-6)
}

# [channels, size, size] -> [(size/patch)², d] patch tokens -> [T + 1, d] -> encoder -> class
# token. channels=3 (RGB) is torchvision's; --set channels=1 takes grey images such as the digits.
network vit_b_16(classes=1000, size=224, patch=16, d=768, layers=12, heads=12, mlp=3072,
                 channels=3) {
    input x[channels, size, size]
    x -> conv_proj: conv(d, patch, stride=patch, pad=0) -> flatten(1) -> permute([1, 0])
      -> class_token: token -> encoder: encoder(d, layers, heads, mlp)
      -> select(0) -> heads: (head: linear(classes))
}
network vit_b_32(classes=1000, size=224, patch=32, d=768, layers=12, heads=12, mlp=3072,
                 channels=3) {
    input x[channels, size, size]
    x -> conv_proj: conv(d, patch, stride=patch, pad=0) -> flatten(1) -> permute([1, 0])
      -> class_token: token -> encoder: encoder(d, layers, heads, mlp)
      -> select(0) -> heads: (head: linear(classes))
}
network vit_l_16(classes=1000, size=224, patch=16, d=1024, layers=24, heads=16, mlp=4096,
                 channels=3) {
    input x[channels, size, size]
    x -> conv_proj: conv(d, patch, stride=patch, pad=0) -> flatten(1) -> permute([1, 0])
      -> class_token: token -> encoder: encoder(d, layers, heads, mlp)
      -> select(0) -> heads: (head: linear(classes))
}
network vit_l_32(classes=1000, size=224, patch=32, d=1024, layers=24, heads=16, mlp=4096,
                 channels=3) {
    input x[channels, size, size]
    x -> conv_proj: conv(d, patch, stride=patch, pad=0) -> flatten(1) -> permute([1, 0])
      -> class_token: token -> encoder: encoder(d, layers, heads, mlp)
      -> select(0) -> heads: (head: linear(classes))
}
# The DEFAULT weights of vit_h_14 (IMAGENET1K_SWAG_E2E_V1) are fine-tuned at 518x518.
network vit_h_14(classes=1000, size=518, patch=14, d=1280, layers=32, heads=16, mlp=5120,
                 channels=3) {
    input x[channels, size, size]
    x -> conv_proj: conv(d, patch, stride=patch, pad=0) -> flatten(1) -> permute([1, 0])
      -> class_token: token -> encoder: encoder(d, layers, heads, mlp)
      -> select(0) -> heads: (head: linear(classes))
}
