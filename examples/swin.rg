# Swin Transformer T/S/B (V1, at 224) and V2 T/S/B (at 256), torchvision layout: the published
# checkpoints load with strict=True. Liu et al. 2021 ("Swin Transformer: Hierarchical Vision
# Transformer using Shifted Windows") and 2022 ("Swin Transformer V2"). Maps are channels-last
# [H, W, C] after the stem; every LayerNorm has eps 1e-5.

# Attention within windows (every other block shifted by half a window), then an MLP of 4C.
# V1 normalises each branch's input, V2 its output; stochastic depth p on both branches.
block swin_block(heads, w, shift, p, v) {
    residual(drop_path=p) {
        norm1: layernorm if v == 1 -> attn: wattention(heads, w, shift, version=v)
        -> norm1: layernorm if v == 2
    }
    -> residual(drop_path=p) {
        norm2: layernorm if v == 1
        -> mlp: (linear(4 * in.features) -> gelu -> dropout(0.0) -> linear(in.features)
                 -> dropout(0.0))
        -> norm2: layernorm if v == 2
    }
}

# torchvision's `features`: a 4x4 patchify stem (conv, permute, norm), four stages of blocks at
# widths d, 2d, 4d, 8d, patch merging between them. Block k of all has stochastic depth sd·k/(K−1).
block swin(v, d, n, heads, w, sd, patch) {
    let p = sd / (sum(n) - 1)
    0: (conv(d, patch, stride=patch, pad=0, bias=true) -> permute([1, 2, 0]) -> layernorm)
    -> 1: (swin_block(heads[0], w, w // 2 * (i % 2), p * i, v) * n[0] as i)
    -> 2: patchmerge(v)
    -> 3: (swin_block(heads[1], w, w // 2 * (i % 2), p * (n[0] + i), v) * n[1] as i)
    -> 4: patchmerge(v)
    -> 5: (swin_block(heads[2], w, w // 2 * (i % 2), p * (n[0] + n[1] + i), v) * n[2] as i)
    -> 6: patchmerge(v)
    -> 7: (swin_block(heads[3], w, w // 2 * (i % 2), p * (sum(n) - n[3] + i), v) * n[3] as i)
}

network swin_t(classes=1000, size=224, patch=4, embed=96, depths=[2, 2, 6, 2],
               heads=[3, 6, 12, 24], window=7, sd=0.2) { input x[3, size, size]
    x -> features: swin(1, embed, depths, heads, window, sd, patch)
      -> norm: layernorm -> permute([2, 0, 1]) -> gap -> flatten -> head: linear(classes) }
network swin_s(classes=1000, size=224, patch=4, embed=96, depths=[2, 2, 18, 2],
               heads=[3, 6, 12, 24], window=7, sd=0.3) { input x[3, size, size]
    x -> features: swin(1, embed, depths, heads, window, sd, patch)
      -> norm: layernorm -> permute([2, 0, 1]) -> gap -> flatten -> head: linear(classes) }
network swin_b(classes=1000, size=224, patch=4, embed=128, depths=[2, 2, 18, 2],
               heads=[4, 8, 16, 32], window=7, sd=0.5) { input x[3, size, size]
    x -> features: swin(1, embed, depths, heads, window, sd, patch)
      -> norm: layernorm -> permute([2, 0, 1]) -> gap -> flatten -> head: linear(classes) }
network swin_v2_t(classes=1000, size=256, patch=4, embed=96, depths=[2, 2, 6, 2],
                  heads=[3, 6, 12, 24], window=8, sd=0.2) { input x[3, size, size]
    x -> features: swin(2, embed, depths, heads, window, sd, patch)
      -> norm: layernorm -> permute([2, 0, 1]) -> gap -> flatten -> head: linear(classes) }
network swin_v2_s(classes=1000, size=256, patch=4, embed=96, depths=[2, 2, 18, 2],
                  heads=[3, 6, 12, 24], window=8, sd=0.3) { input x[3, size, size]
    x -> features: swin(2, embed, depths, heads, window, sd, patch)
      -> norm: layernorm -> permute([2, 0, 1]) -> gap -> flatten -> head: linear(classes) }
network swin_v2_b(classes=1000, size=256, patch=4, embed=128, depths=[2, 2, 18, 2],
                  heads=[4, 8, 16, 32], window=8, sd=0.5) { input x[3, size, size]
    x -> features: swin(2, embed, depths, heads, window, sd, patch)
      -> norm: layernorm -> permute([2, 0, 1]) -> gap -> flatten -> head: linear(classes) }
