# Pre-activation bottleneck ResNet-(9n+2) for CIFAR-10.
# He, Zhang, Ren and Sun, "Identity Mappings in Deep Residual Networks", 2016.
#   n = 18 -> ResNet-164 (1,703,258 parameters), n = 111 -> ResNet-1001 (10,327,706).
# Each unit is y = F(x) + s(x) with no activation after the sum; F is
# bn-relu-conv1x1 -> bn-relu-conv3x3 -> bn-relu-conv1x1 (widths 16/32/64, outputs
# 4x that). Where the shape changes, s is a bare bias-free 1x1 conv (no bn) on the
# unit's raw input x; elsewhere it is the identity. Convs are bias-free: those
# feeding a bn get it from bias=auto, the others say bias=false.

block preact_bottleneck(width, stride=1, expansion=4) {
    residual(shortcut=project, shortcut_bn=false) {
        bn1: bn -> relu -> conv1: conv(width, 1)
        -> bn2: bn -> relu -> conv2: conv(width, 3, stride=stride)
        -> bn3: bn -> relu -> conv3: conv(width * expansion, 1, bias=false)
    }
}

network preact_resnet(n=18, classes=10) {
    input x[3, 32, 32]
    x -> conv1: conv(16, 3, bias=false)
      -> layer1: (preact_bottleneck(16) * n)
      -> layer2: (preact_bottleneck(32, stride=2) -> preact_bottleneck(32) * (n - 1))
      -> layer3: (preact_bottleneck(64, stride=2) -> preact_bottleneck(64) * (n - 1))
      -> norm: bn -> relu -> gap -> flatten -> fc: linear(classes)
}
