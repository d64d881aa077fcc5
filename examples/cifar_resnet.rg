# ResNet-(6n+2) for CIFAR-10 with option A (parameter-free) shortcuts.
# He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", 2015, section 4.2.
# n blocks per stage, stages of 16, 32 and 64 channels on 32x32, 16x16 and 8x8 maps:
#   n = 3, 5, 7, 9, 18, 200  ->  ResNet-20, 32, 44, 56, 110, 1202
#   (269,722 / 464,154 / 658,586 / 853,018 / 1,727,962 / 19,421,274 parameters).
# shortcut=pad: subsample by the stride and zero-pad the new channels (half in
# front, half behind) where the shape changes, identity elsewhere.

block basic_a(c, stride=1) {
    residual(shortcut=pad) {
        conv1: conv(c, 3, stride=stride) -> bn1: bn -> relu
        -> conv2: conv(c, 3) -> bn2: bn
    }
    -> relu
}

network cifar_resnet(n=3, classes=10) {
    input x[3, 32, 32]
    x -> conv1: conv(16, 3) -> bn1: bn -> relu
      -> layer1: (basic_a(16) * n)
      -> layer2: (basic_a(32, stride=2) -> basic_a(32) * (n - 1))
      -> layer3: (basic_a(64, stride=2) -> basic_a(64) * (n - 1))
      -> gap -> flatten -> fc: linear(classes)
}
