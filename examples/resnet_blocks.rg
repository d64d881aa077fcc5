# Residual blocks of the ImageNet ResNets, shared by resnet18/34/50/101/152.rg.
# He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", 2015.
#
# Layout and labels follow torchvision, so a compiled ResNet's state_dict keys
# are torchvision's (layer2.0.conv1.weight, layer2.0.downsample.0.weight, ...):
# - shortcut=project is the identity where shapes match, else a 1x1 conv with the
#   block's stride plus bn, named downsample.0 and downsample.1 (option B);
# - convs are bias-free because each feeds a bn (bias=auto);
# - the bottleneck strides in its 3x3 conv (torchvision's "ResNet v1.5").

# Two 3x3 convs (ResNet-18/34): relu(F(x) + s(x)).
block basic(c, stride=1) {
    residual(shortcut=project) {
        conv1: conv(c, 3, stride=stride) -> bn1: bn -> relu
        -> conv2: conv(c, 3) -> bn2: bn
    }
    -> relu
}

# 1x1 reduce, 3x3, 1x1 expand to c * expansion channels (ResNet-50/101/152). The inner
# width is c * width / 64 per group: `groups` groups of `width` channels at c = 64 make
# ResNeXt's "32x4d" (groups=32, width=4); width=128 is Wide ResNet-2's doubled width.
block bottleneck(c, stride=1, expansion=4, groups=1, width=64) {
    let inner = c * width // 64 * groups
    residual(shortcut=project) {
        conv1: conv(inner, 1) -> bn1: bn -> relu
        -> conv2: conv(inner, 3, stride=stride, groups=groups) -> bn2: bn -> relu
        -> conv3: conv(c * expansion, 1) -> bn3: bn
    }
    -> relu
}
