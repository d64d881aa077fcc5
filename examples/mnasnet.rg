# MnasNet-B1 at depth multipliers 0.5, 0.75, 1.0 and 1.3, torchvision layout: the published
# checkpoints load with strict=True. Tan et al. 2019 ("MnasNet: Platform-Aware Neural
# Architecture Search for Mobile"). torchvision keeps the whole trunk in one flat `layers`.

# Widths are scaled by alpha and rounded to a multiple of 8, never more than 10% down.
let round8(v) = at_least_90(v, max(8, int(v + 4) // 8 * 8))
let at_least_90(v, m) = m + 8 if m < 0.9 * v else m

# Inverted residual: 1x1 expand by t, depthwise k x k, linear 1x1 projection; identity skip
# only where the stride is 1 and the channels match. TensorFlow's bn momentum 0.9997.
block unit(c, k, stride, t, m=0.0003) {
    residual(shortcut=identity if stride == 1 and in.channels == c else none) {
        layers: (conv(in.channels * t, 1) -> bn(momentum=m) -> relu
                 -> conv(in.channels * t, k, stride, groups=in.channels * t) -> bn(momentum=m)
                 -> relu -> conv(c, 1) -> bn(momentum=m))
    }
}

# torchvision's `layers`: stem, depthwise-separable conv, six stacks, 1x1 conv to 1280.
block mnasnet(alpha, m=0.0003) {
    0: conv(round8(32 * alpha), 3, stride=2) -> 1: bn(momentum=m) -> 2: relu
    -> 3: conv(round8(32 * alpha), 3, groups=round8(32 * alpha)) -> 4: bn(momentum=m) -> 5: relu
    -> 6: conv(round8(16 * alpha), 1) -> 7: bn(momentum=m)
    -> 8: (unit(round8(24 * alpha), 3, 2 if i == 0 else 1, 3) * 3 as i)
    -> 9: (unit(round8(40 * alpha), 5, 2 if i == 0 else 1, 3) * 3 as i)
    -> 10: (unit(round8(80 * alpha), 5, 2 if i == 0 else 1, 6) * 3 as i)
    -> 11: (unit(round8(96 * alpha), 3, 1, 6) * 2)
    -> 12: (unit(round8(192 * alpha), 5, 2 if i == 0 else 1, 6) * 4 as i)
    -> 13: (unit(round8(320 * alpha), 3, 1, 6))
    -> 14: conv(1280, 1) -> 15: bn(momentum=m) -> 16: relu
}

network mnasnet0_5(classes=1000, size=224, p=0.2) {
    input x[3, size, size]
    x -> layers: mnasnet(0.5) -> gap -> flatten -> classifier: (dropout(p) -> linear(classes))
}

network mnasnet0_75(classes=1000, size=224, p=0.2) {
    input x[3, size, size]
    x -> layers: mnasnet(0.75) -> gap -> flatten -> classifier: (dropout(p) -> linear(classes))
}

network mnasnet1_0(classes=1000, size=224, p=0.2) {
    input x[3, size, size]
    x -> layers: mnasnet(1.0) -> gap -> flatten -> classifier: (dropout(p) -> linear(classes))
}

network mnasnet1_3(classes=1000, size=224, p=0.2) {
    input x[3, size, size]
    x -> layers: mnasnet(1.3) -> gap -> flatten -> classifier: (dropout(p) -> linear(classes))
}
