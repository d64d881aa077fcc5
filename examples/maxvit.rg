# MaxViT-T, torchvision layout: the published checkpoint loads with strict=True. Tu et al. 2022
# ("MaxViT: Multi-Axis Vision Transformer"). Every bn has eps 1e-3 and momentum 0.01, every
# LayerNorm eps 1e-5, every activation of the convs and MLPs is GELU.

# torchvision's Conv2dNormActivation: conv 0, bn 1, GELU 2.
block cna(c, k=1, stride=1, groups=1) {
    0: conv(c, k, stride=stride, groups=groups) -> 1: bn(1e-3, 0.01) -> 2: gelu
}

# MBConv, pre-norm: bn, 1x1 expand to 4c, depthwise 3x3 with the stride, squeeze-and-excitation
# to c/4, 1x1 projection; the shortcut `proj` (avgpool 3/2 where strided, then a 1x1 conv) where
# the shape changes, else the identity. Stochastic depth p on the branch.
block mbconv(c, stride, p) {
    in -> proj: (avgpool(3, stride=2, pad=1) if stride == 2
                 -> conv(c, 1, bias=true) if stride != 1 or in.channels != c)
    in -> layers: (pre_norm: bn(1e-3, 0.01) -> conv_a: cna(4 * c)
                   -> conv_b: cna(4 * c, 3, stride, 4 * c)
                   -> squeeze_excitation: gate { gap -> fc1: conv(c // 4, 1) -> silu
                                                 -> fc2: conv(4 * c, 1) -> sigmoid }
                   -> conv_c: conv(c, 1, bias=true))
    -> out: identity
    residual(drop_path=p) proj -> out
}

# Block (mode=window) or grid attention over size x size partitions of a channels-last map, then
# an MLP of 4C; both pre-norm residuals with stochastic depth p.
block partition(heads, size, mode, p) {
    residual(drop_path=p) { attn_layer: (layernorm -> pattention(heads, size, mode) -> dropout(0)) }
    -> residual(drop_path=p) {
        mlp_layer: (layernorm -> linear(4 * in.features) -> gelu -> linear(in.features)
                    -> dropout(0))
    }
}

# A MaxViT layer: MBConv, then block and grid attention on the channels-last map.
block layer(c, heads, size, stride, p) {
    layers: (MBconv: mbconv(c, stride, p) -> permute([1, 2, 0])
             -> window_attention: partition(heads, size, window, p)
             -> grid_attention: partition(heads, size, grid, p) -> permute([2, 0, 1]))
}

# Stage j: n[j] layers at width c[j], the first strided; layer k of all K has stochastic depth
# sd·k/(K−1). before(n, j) counts the layers of the stages before j (up to six stages).
let upto(n, k, j) = n[k] if k < j else 0
let before(n, j) = sum([upto(n, 0, j), upto(n, 1, j), upto(n, 2, j), upto(n, 3, j),
                        upto(n, 4, j)])
block stage(j, c, n, head_dim, size, sd) {
    layers: (layer(c[j], c[j] // head_dim, size, 2 if i == 0 else 1,
                   sd * (before(n, j) + i) / (sum(n) - 1)) * n[j] as i)
}

network maxvit_t(classes=1000, size=224, stem=64, channels=[64, 128, 256, 512],
                 depths=[2, 2, 5, 2], head_dim=32, partition=7, sd=0.2) {
    input x[3, size, size]
    x -> stem: (0: cna(stem, 3, stride=2) -> 1: (conv(stem, 3, bias=true)))
      -> blocks: (stage(j, channels, depths, head_dim, partition, sd) * len(depths) as j)
      -> classifier: (gap -> flatten -> layernorm -> linear(channels[-1]) -> tanh
                      -> linear(classes, bias=false))
}
