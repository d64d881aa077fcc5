# MobileNetV2 and MobileNetV3 (Large, Small), torchvision layout: the published checkpoints
# load with strict=True. Sandler et al. 2018 ("Inverted Residuals and Linear Bottlenecks");
# Howard et al. 2019 ("Searching for MobileNetV3").

# Widths are rounded to a multiple of d, at least d, never more than 10% down.
let make_divisible(v, d=8) = at_least_90(v, d, max(d, int(v + d / 2) // d * d))
let at_least_90(v, d, m) = m + d if m < 0.9 * v else m

# torchvision's Conv2dNormActivation: conv 0, bn 1, activation 2 (none: no activation).
block cna(c, k=3, stride=1, groups=1, act=relu6, eps=1e-5, momentum=0.1) {
    0: conv(c, k, stride=stride, groups=groups) -> 1: bn(eps, momentum) -> 2: act
}

# Squeeze-and-excitation: x * hardsigmoid(fc2(relu(fc1(mean(x))))).
block se(squeeze) {
    gate { gap -> fc1: conv(squeeze, 1) -> relu -> fc2: conv(in.channels, 1) -> hardsigmoid }
}

# V2 inverted residual: expand 1x1 (t != 1), depthwise 3x3, linear 1x1 projection; the
# residual only where the stride is 1 and the channels match.
block inverted_residual(c, stride=1, t=6) {
    residual(shortcut=identity if stride == 1 and in.channels == c else none) {
        conv: (cna(in.channels * t, 1) if t != 1
               -> cna(in.channels * t, 3, stride, groups=in.channels * t)
               -> conv(c, 1) -> bn)
    }
}

# V3 bneck: a row of the paper's Tables 1 and 2 (kernel, expanded, out, SE, activation, stride).
block bneck(k, e, c, use_se, act, stride) {
    residual(shortcut=identity if stride == 1 and in.channels == c else none) {
        block: (cna(e, 1, act=act, eps=0.001, momentum=0.01) if e != in.channels
                -> cna(e, k, stride, groups=e, act=act, eps=0.001, momentum=0.01)
                -> se(make_divisible(e // 4)) if use_se
                -> cna(c, 1, act=none, eps=0.001, momentum=0.01))
    }
}

network mobilenet_v2(classes=1000, size=224, width=1.0, p=0.2) {
    input x[3, size, size]
    x -> features: (cna(make_divisible(32 * width), stride=2)
        -> inverted_residual(make_divisible(16 * width), t=1)
        -> inverted_residual(make_divisible(24 * width), 2 if i == 0 else 1) * 2 as i
        -> inverted_residual(make_divisible(32 * width), 2 if i == 0 else 1) * 3 as i
        -> inverted_residual(make_divisible(64 * width), 2 if i == 0 else 1) * 4 as i
        -> inverted_residual(make_divisible(96 * width)) * 3
        -> inverted_residual(make_divisible(160 * width), 2 if i == 0 else 1) * 3 as i
        -> inverted_residual(make_divisible(320 * width))
        -> cna(make_divisible(1280 * max(1.0, width)), 1))
      -> gap -> flatten -> classifier: (dropout(p) -> linear(classes))
}

network mobilenet_v3_large(classes=1000, size=224, p=0.2) {
    input x[3, size, size]
    x -> features: (cna(16, stride=2, act=hardswish, eps=0.001, momentum=0.01)
        -> bneck(3, 16, 16, false, relu, 1) -> bneck(3, 64, 24, false, relu, 2)
        -> bneck(3, 72, 24, false, relu, 1) -> bneck(5, 72, 40, true, relu, 2)
        -> bneck(5, 120, 40, true, relu, 1) -> bneck(5, 120, 40, true, relu, 1)
        -> bneck(3, 240, 80, false, hardswish, 2) -> bneck(3, 200, 80, false, hardswish, 1)
        -> bneck(3, 184, 80, false, hardswish, 1) -> bneck(3, 184, 80, false, hardswish, 1)
        -> bneck(3, 480, 112, true, hardswish, 1) -> bneck(3, 672, 112, true, hardswish, 1)
        -> bneck(5, 672, 160, true, hardswish, 2) -> bneck(5, 960, 160, true, hardswish, 1)
        -> bneck(5, 960, 160, true, hardswish, 1)
        -> cna(960, 1, act=hardswish, eps=0.001, momentum=0.01))
      -> gap -> flatten
      -> classifier: (linear(1280) -> hardswish -> dropout(p) -> linear(classes))
}

network mobilenet_v3_small(classes=1000, size=224, p=0.2) {
    input x[3, size, size]
    x -> features: (cna(16, stride=2, act=hardswish, eps=0.001, momentum=0.01)
        -> bneck(3, 16, 16, true, relu, 2) -> bneck(3, 72, 24, false, relu, 2)
        -> bneck(3, 88, 24, false, relu, 1) -> bneck(5, 96, 40, true, hardswish, 2)
        -> bneck(5, 240, 40, true, hardswish, 1) -> bneck(5, 240, 40, true, hardswish, 1)
        -> bneck(5, 120, 48, true, hardswish, 1) -> bneck(5, 144, 48, true, hardswish, 1)
        -> bneck(5, 288, 96, true, hardswish, 2) -> bneck(5, 576, 96, true, hardswish, 1)
        -> bneck(5, 576, 96, true, hardswish, 1)
        -> cna(576, 1, act=hardswish, eps=0.001, momentum=0.01))
      -> gap -> flatten
      -> classifier: (linear(1024) -> hardswish -> dropout(p) -> linear(classes))
}
