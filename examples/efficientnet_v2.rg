# EfficientNetV2 S/M/L, torchvision layout: the published checkpoints load with strict=True.
# Tan and Le 2021 ("EfficientNetV2: Smaller Models and Faster Training"). MBConv, SE and the
# rounding come from efficientnet.rg; bn eps is 1e-3 throughout.
use "efficientnet.rg"

# Fused-MBConv: a k x k expansion conv, then a linear 1x1 projection (one k x k conv when t
# is 1); the residual (stochastic depth p) where the stride is 1 and the channels match.
block fused_mbconv(c, k, stride=1, t=4, p=0.0, eps=1e-3) {
    let e = make_divisible(in.channels * t)
    residual(shortcut=identity if stride == 1 and in.channels == c else none, drop_path=p) {
        block: (cna(e if e != in.channels else c, k, stride, eps=eps)
                -> cna(c, 1, act=none, eps=eps) if e != in.channels)
    }
}

# Stage rows T (the paper's Table 4): expansion, kernel, stride, channels, layers; the first
# three stages are fused. before(T, j, 1) (efficientnet.rg) counts the blocks ahead of stage j.

# torchvision's `features`: stem, the stages, a 1x1 conv to 1280. Stochastic depth grows
# linearly with the block's index, to sd at the last block.
block efficientnet_v2(T, eps=1e-3, sd=0.2) {
    0: cna(T[0][3], stride=2, eps=eps)
    -> ("{j + 1}": (fused_mbconv(T[j][3], T[j][1], T[j][2] if i == 0 else 1, T[j][0],
                                 sd * (before(T, j, 1) + i) / before(T, 7, 1), eps)
                    * T[j][4] as i)) * 3 as j
    -> ("{j + 4}": (mbconv(T[j + 3][3], T[j + 3][1], T[j + 3][2] if i == 0 else 1, T[j + 3][0],
                           sd * (before(T, j + 3, 1) + i) / before(T, 7, 1), eps)
                    * T[j + 3][4] as i)) * (len(T) - 3) as j
    -> "{len(T) + 1}": cna(1280, 1, eps=eps)
}

network efficientnet_v2_s(classes=1000, size=384, p=0.2) { input x[3, size, size]
    x -> features: efficientnet_v2([[1, 3, 1, 24, 2], [4, 3, 2, 48, 4], [4, 3, 2, 64, 4],
                                    [4, 3, 2, 128, 6], [6, 3, 1, 160, 9], [6, 3, 2, 256, 15]])
      -> gap -> flatten -> classifier: head(p, classes) }
network efficientnet_v2_m(classes=1000, size=480, p=0.3) { input x[3, size, size]
    x -> features: efficientnet_v2([[1, 3, 1, 24, 3], [4, 3, 2, 48, 5], [4, 3, 2, 80, 5],
                                    [4, 3, 2, 160, 7], [6, 3, 1, 176, 14], [6, 3, 2, 304, 18],
                                    [6, 3, 1, 512, 5]])
      -> gap -> flatten -> classifier: head(p, classes) }
network efficientnet_v2_l(classes=1000, size=480, p=0.4) { input x[3, size, size]
    x -> features: efficientnet_v2([[1, 3, 1, 32, 4], [4, 3, 2, 64, 7], [4, 3, 2, 96, 7],
                                    [4, 3, 2, 192, 10], [6, 3, 1, 224, 19], [6, 3, 2, 384, 25],
                                    [6, 3, 1, 640, 7]])
      -> gap -> flatten -> classifier: head(p, classes) }
