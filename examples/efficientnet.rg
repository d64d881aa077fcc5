# EfficientNet B0-B7, torchvision layout: the published checkpoints load with strict=True.
# Tan and Le 2019 ("EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks").
# B0's stages scaled by width w (channels) and depth d (layers), each at its own resolution.

# Widths are rounded to a multiple of d, at least d, never more than 10% down.
let make_divisible(v, d=8) = at_least_90(v, d, max(d, int(v + d / 2) // d * d))
let at_least_90(v, d, m) = m + d if m < 0.9 * v else m

# torchvision's Conv2dNormActivation: conv 0, bn 1, activation 2 (none: no activation).
block cna(c, k=3, stride=1, groups=1, act=silu, eps=1e-5, momentum=0.1) {
    0: conv(c, k, stride=stride, groups=groups) -> 1: bn(eps, momentum) -> 2: act
}

# Squeeze-and-excitation: x * sigmoid(fc2(silu(fc1(mean(x))))).
block se(squeeze) {
    gate { gap -> fc1: conv(squeeze, 1) -> silu -> fc2: conv(in.channels, 1) -> sigmoid }
}

# MBConv: expand 1x1 (t != 1), depthwise k x k, SE to a quarter of the input, linear 1x1
# projection; the residual (with stochastic depth p) where the stride is 1 and channels match.
block mbconv(c, k, stride=1, t=6, p=0.0, eps=1e-5, momentum=0.1) {
    let e = make_divisible(in.channels * t)
    residual(shortcut=identity if stride == 1 and in.channels == c else none, drop_path=p) {
        block: (cna(e, 1, eps=eps, momentum=momentum) if e != in.channels
                -> cna(e, k, stride, groups=e, eps=eps, momentum=momentum)
                -> se(max(1, in.channels // 4))
                -> cna(c, 1, act=none, eps=eps, momentum=momentum))
    }
}

# B0 (the paper's Table 1): expansion, kernel, stride, channels, layers of each stage.
let b0 = [[1, 3, 1, 16, 1], [6, 3, 2, 24, 2], [6, 5, 2, 40, 2], [6, 3, 2, 80, 3],
          [6, 5, 1, 112, 3], [6, 5, 2, 192, 4], [6, 3, 1, 320, 1]]
let layers(T, j, d) = ceil(T[j][4] * d) if j < len(T) else 0    # stage j's, at depth d
let upto(T, j, k, d) = layers(T, k, d) if k < j else 0            # blocks before stage j
let before(T, j, d) = sum([upto(T, j, 0, d), upto(T, j, 1, d), upto(T, j, 2, d),
                           upto(T, j, 3, d), upto(T, j, 4, d), upto(T, j, 5, d), upto(T, j, 6, d)])

# torchvision's `features`: stem, the seven stages, 1x1 conv to 4x the last width.
# Stochastic depth grows linearly with the block's index, to sd at the last block.
block efficientnet(w, d, eps=1e-5, momentum=0.1, sd=0.2) {
    0: cna(make_divisible(32 * w), stride=2, eps=eps, momentum=momentum)
    -> ("{j + 1}": (mbconv(make_divisible(b0[j][3] * w), b0[j][1], b0[j][2] if i == 0 else 1,
                           b0[j][0], sd * (before(b0, j, d) + i) / before(b0, 7, d), eps, momentum)
                    * layers(b0, j, d) as i)) * 7 as j
    -> 8: cna(4 * make_divisible(320 * w), 1, eps=eps, momentum=momentum)
}

# torchvision's `classifier`.
block head(p, classes) { 0: dropout(p) -> 1: linear(classes) }

network efficientnet_b0(classes=1000, size=224, p=0.2) { input x[3, size, size]
    x -> features: efficientnet(1.0, 1.0) -> gap -> flatten -> classifier: head(p, classes)
}
network efficientnet_b1(classes=1000, size=240, p=0.2) { input x[3, size, size]
    x -> features: efficientnet(1.0, 1.1) -> gap -> flatten -> classifier: head(p, classes)
}
network efficientnet_b2(classes=1000, size=288, p=0.3) { input x[3, size, size]
    x -> features: efficientnet(1.1, 1.2) -> gap -> flatten -> classifier: head(p, classes)
}
network efficientnet_b3(classes=1000, size=300, p=0.3) { input x[3, size, size]
    x -> features: efficientnet(1.2, 1.4) -> gap -> flatten -> classifier: head(p, classes)
}
network efficientnet_b4(classes=1000, size=380, p=0.4) { input x[3, size, size]
    x -> features: efficientnet(1.4, 1.8) -> gap -> flatten -> classifier: head(p, classes)
}
# B5-B7 were trained with TensorFlow's bn settings (eps 1e-3, momentum 0.99).
network efficientnet_b5(classes=1000, size=456, p=0.4) { input x[3, size, size]
    x -> features: efficientnet(1.6, 2.2, 0.001, 0.01) -> gap -> flatten -> classifier: head(p, classes)
}
network efficientnet_b6(classes=1000, size=528, p=0.5) { input x[3, size, size]
    x -> features: efficientnet(1.8, 2.6, 0.001, 0.01) -> gap -> flatten -> classifier: head(p, classes)
}
network efficientnet_b7(classes=1000, size=600, p=0.5) { input x[3, size, size]
    x -> features: efficientnet(2.0, 3.1, 0.001, 0.01) -> gap -> flatten -> classifier: head(p, classes)
}
