# ConvNeXt T/S/B/L, torchvision layout: the published checkpoints load with strict=True.
# Liu et al. 2022 ("A ConvNet for the 2020s"). Every LayerNorm has eps 1e-6; dim=0 is over channels.

# x + layer_scale * (dwconv 7x7 -> LN -> linear 4C -> GELU -> linear C)(x), stochastic depth p.
block cnblock(c, p=0.0) {
    residual(drop_path=p) {
        block: (conv(c, 7, groups=c) -> permute([1, 2, 0]) -> layernorm(1e-6)
                -> linear(4 * c) -> gelu -> linear(c) -> permute([2, 0, 1]))
        -> layer_scale: scale(1e-6)
    }
}

# torchvision's `features`: a 4x4 patchify stem, four stages of blocks, 2x2 downsampling between
# them. Stochastic depth grows linearly with the block's index k, from 0 to sd.
block convnext(d, n, sd) {
    let p = sd / (n[0] + n[1] + n[2] + n[3] - 1)
    0: (conv(d[0], 4, stride=4, pad=0, bias=true) -> layernorm(1e-6, dim=0))
    -> 1: (cnblock(d[0], p * i) * n[0] as i)
    -> 2: (layernorm(1e-6, dim=0) -> conv(d[1], 2, stride=2))
    -> 3: (cnblock(d[1], p * (n[0] + i)) * n[1] as i)
    -> 4: (layernorm(1e-6, dim=0) -> conv(d[2], 2, stride=2))
    -> 5: (cnblock(d[2], p * (n[0] + n[1] + i)) * n[2] as i)
    -> 6: (layernorm(1e-6, dim=0) -> conv(d[3], 2, stride=2))
    -> 7: (cnblock(d[3], p * (n[0] + n[1] + n[2] + i)) * n[3] as i)
}

network convnext_tiny(classes=1000, size=224) { input x[3, size, size]
    x -> features: convnext([96, 192, 384, 768], [3, 3, 9, 3], 0.1)
      -> gap -> classifier: (layernorm(1e-6, dim=0) -> flatten -> linear(classes)) }
network convnext_small(classes=1000, size=224) { input x[3, size, size]
    x -> features: convnext([96, 192, 384, 768], [3, 3, 27, 3], 0.4)
      -> gap -> classifier: (layernorm(1e-6, dim=0) -> flatten -> linear(classes)) }
network convnext_base(classes=1000, size=224) { input x[3, size, size]
    x -> features: convnext([128, 256, 512, 1024], [3, 3, 27, 3], 0.5)
      -> gap -> classifier: (layernorm(1e-6, dim=0) -> flatten -> linear(classes)) }
network convnext_large(classes=1000, size=224) { input x[3, size, size]
    x -> features: convnext([192, 384, 768, 1536], [3, 3, 27, 3], 0.5)
      -> gap -> classifier: (layernorm(1e-6, dim=0) -> flatten -> linear(classes)) }
