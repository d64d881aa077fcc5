# RegNetX and RegNetY, torchvision layout: the published checkpoints load with strict=True.
# Radosavovic et al. 2020 ("Designing Network Design Spaces"). Each model's stage table (depths,
# widths, group width) is the paper's quantised linear rule worked out, as in its Table 4.

# torchvision's Conv2dNormActivation: conv 0, bn 1, activation 2 (none: no activation).
block cna(c, k=1, stride=1, groups=1, act=relu) {
    0: conv(c, k, stride=stride, groups=groups) -> 1: bn -> 2: act
}

# Squeeze-and-excitation (RegNetY): x * sigmoid(fc2(relu(fc1(mean(x))))).
block se(squeeze) {
    gate { gap -> fc1: conv(squeeze, 1) -> relu -> fc2: conv(in.channels, 1) -> sigmoid }
}

# f: 1x1, grouped 3x3 (groups g channels wide) with the stride, SE (RegNetY), 1x1 linear.
block bottleneck(w, stride, g, use_se) {
    a: cna(w) -> b: cna(w, 3, stride, w // g)
    -> se: se(round(0.25 * in.channels)) if use_se -> c: cna(w, act=none)
}

# relu(proj(x) + f(x)), proj a 1x1 conv + bn where the width or stride changes, else the identity.
block res_block(w, stride, g, use_se) {
    s = in -> proj: cna(w, 1, stride, act=none) if stride != 1 or in.channels != w
    in -> f: bottleneck(w, stride, g, use_se) -> out: relu
    residual s -> out
}

# torchvision's `trunk_output`: stages block1..block4 of blocks block1-0, block1-1, ...
block trunk(depths, widths, g, use_se) {
    ("block{j + 1}": (("block{j + 1}-{i}": res_block(widths[j], 2 if i == 0 else 1,
                                                      min(g, widths[j]), use_se)) * depths[j] as i)
    ) * 4 as j
}

network regnet_x_400mf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([1, 2, 7, 12], [32, 64, 160, 400], 16, false)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_x_800mf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([1, 3, 7, 5], [64, 128, 288, 672], 16, false)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_x_1_6gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 4, 10, 2], [72, 168, 408, 912], 24, false)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_x_3_2gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 6, 15, 2], [96, 192, 432, 1008], 48, false)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_x_8gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 5, 15, 1], [80, 240, 720, 1920], 120, false)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_x_16gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 6, 13, 1], [256, 512, 896, 2048], 128, false)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_x_32gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 7, 13, 1], [336, 672, 1344, 2520], 168, false)
      -> gap -> flatten -> fc: linear(classes) }

network regnet_y_400mf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([1, 3, 6, 6], [48, 104, 208, 440], 8, true)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_y_800mf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([1, 3, 8, 2], [64, 144, 320, 784], 16, true)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_y_1_6gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 6, 17, 2], [48, 120, 336, 888], 24, true)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_y_3_2gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 5, 13, 1], [72, 216, 576, 1512], 24, true)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_y_8gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 4, 10, 1], [224, 448, 896, 2016], 56, true)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_y_16gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 4, 11, 1], [224, 448, 1232, 3024], 112, true)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_y_32gf(classes=1000, size=224) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 5, 12, 1], [232, 696, 1392, 3712], 232, true)
      -> gap -> flatten -> fc: linear(classes) }
network regnet_y_128gf(classes=1000, size=384) { input x[3, size, size]
    x -> stem: cna(32, 3, 2) -> trunk_output: trunk([2, 7, 17, 1], [528, 1056, 2904, 7392], 264, true)
      -> gap -> flatten -> fc: linear(classes) }
