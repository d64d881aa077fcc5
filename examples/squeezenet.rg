# SqueezeNet 1.0 and 1.1 for ImageNet, torchvision layout (squeezenet1_0: 1,248,424 parameters).
# Iandola, Han, Moskewicz, Ashraf, Dally and Keutzer, "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", 2016.
# A fire module squeezes with a 1x1 conv, then concatenates a 1x1 and a 3x3 expansion.
# 1.1 (the authors' revision) has a 3x3/64 stem and pools earlier: 2.4x fewer MACs.
# Every module of `features` and `classifier` takes the next number (features.3.squeeze,
# classifier.1), as in torchvision's nn.Sequential.

block fire(s, e) {
    squeeze: conv(s, 1) -> relu
    -> parallel {
        expand1x1: conv(e, 1) -> relu
        expand3x3: conv(e, 3) -> relu
    }
}

network squeezenet1_0(classes=1000, size=224, p=0.5) {
    input x[3, size, size]
    x -> features: (conv(96, 7, stride=2, pad=0) -> relu -> maxpool(3, stride=2, ceil=true)
                    -> fire(16, 64) -> fire(16, 64) -> fire(32, 128) -> maxpool(3, stride=2, ceil=true)
                    -> fire(32, 128) -> fire(48, 192) -> fire(48, 192) -> fire(64, 256)
                    -> maxpool(3, stride=2, ceil=true) -> fire(64, 256))
      -> classifier: (dropout(p) -> conv(classes, 1) -> relu -> gap) -> flatten
}

network squeezenet1_1(classes=1000, size=224, p=0.5) {
    input x[3, size, size]
    x -> features: (conv(64, 3, stride=2, pad=0) -> relu -> maxpool(3, stride=2, ceil=true)
                    -> fire(16, 64) -> fire(16, 64) -> maxpool(3, stride=2, ceil=true)
                    -> fire(32, 128) -> fire(32, 128) -> maxpool(3, stride=2, ceil=true)
                    -> fire(48, 192) -> fire(48, 192) -> fire(64, 256) -> fire(64, 256))
      -> classifier: (dropout(p) -> conv(classes, 1) -> relu -> gap) -> flatten
}
