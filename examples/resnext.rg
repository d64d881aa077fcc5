# ResNeXt and Wide ResNet for ImageNet, torchvision layout (resnext50_32x4d: 25,028,904 parameters).
# Xie, Girshick, Dollar, Tu and He, "Aggregated Residual Transformations for Deep Neural Networks", 2017;
# Zagoruyko and Komodakis, "Wide Residual Networks", 2016.
# ResNet-50/101 (resnet50.rg, resnet101.rg) with a wider, grouped 3x3 in each bottleneck:
# `groups` groups of `width` channels in the first stage, doubling per stage (32x4d: 128
# channels in 32 groups). Wide ResNet-50-2 and -101-2 are the ungrouped case with twice
# ResNet's inner width (width=128). The keys are torchvision's (layer2.0.conv2.weight, ...).
use "resnet_blocks.rg"

network resnext50_32x4d(classes=1000, size=224, groups=32, width=4) {
    input x[3, size, size]
    x -> conv1: conv(64, 7, stride=2) -> bn1: bn -> relu -> maxpool(3, stride=2, pad=1)
      -> layer1: bottleneck(64, groups=groups, width=width) * 3
      -> layer2: bottleneck(128, stride=2 if i == 0 else 1, groups=groups, width=width) * 4 as i
      -> layer3: bottleneck(256, stride=2 if i == 0 else 1, groups=groups, width=width) * 6 as i
      -> layer4: bottleneck(512, stride=2 if i == 0 else 1, groups=groups, width=width) * 3 as i
      -> gap -> flatten -> fc: linear(classes)
}

network resnext101_32x8d(classes=1000, size=224, groups=32, width=8) {
    input x[3, size, size]
    x -> conv1: conv(64, 7, stride=2) -> bn1: bn -> relu -> maxpool(3, stride=2, pad=1)
      -> layer1: bottleneck(64, groups=groups, width=width) * 3
      -> layer2: bottleneck(128, stride=2 if i == 0 else 1, groups=groups, width=width) * 4 as i
      -> layer3: bottleneck(256, stride=2 if i == 0 else 1, groups=groups, width=width) * 23 as i
      -> layer4: bottleneck(512, stride=2 if i == 0 else 1, groups=groups, width=width) * 3 as i
      -> gap -> flatten -> fc: linear(classes)
}

network resnext101_64x4d(classes=1000, size=224, groups=64, width=4) {
    input x[3, size, size]
    x -> conv1: conv(64, 7, stride=2) -> bn1: bn -> relu -> maxpool(3, stride=2, pad=1)
      -> layer1: bottleneck(64, groups=groups, width=width) * 3
      -> layer2: bottleneck(128, stride=2 if i == 0 else 1, groups=groups, width=width) * 4 as i
      -> layer3: bottleneck(256, stride=2 if i == 0 else 1, groups=groups, width=width) * 23 as i
      -> layer4: bottleneck(512, stride=2 if i == 0 else 1, groups=groups, width=width) * 3 as i
      -> gap -> flatten -> fc: linear(classes)
}

network wide_resnet50_2(classes=1000, size=224, width=128) {
    input x[3, size, size]
    x -> conv1: conv(64, 7, stride=2) -> bn1: bn -> relu -> maxpool(3, stride=2, pad=1)
      -> layer1: bottleneck(64, width=width) * 3
      -> layer2: bottleneck(128, stride=2 if i == 0 else 1, width=width) * 4 as i
      -> layer3: bottleneck(256, stride=2 if i == 0 else 1, width=width) * 6 as i
      -> layer4: bottleneck(512, stride=2 if i == 0 else 1, width=width) * 3 as i
      -> gap -> flatten -> fc: linear(classes)
}

network wide_resnet101_2(classes=1000, size=224, width=128) {
    input x[3, size, size]
    x -> conv1: conv(64, 7, stride=2) -> bn1: bn -> relu -> maxpool(3, stride=2, pad=1)
      -> layer1: bottleneck(64, width=width) * 3
      -> layer2: bottleneck(128, stride=2 if i == 0 else 1, width=width) * 4 as i
      -> layer3: bottleneck(256, stride=2 if i == 0 else 1, width=width) * 23 as i
      -> layer4: bottleneck(512, stride=2 if i == 0 else 1, width=width) * 3 as i
      -> gap -> flatten -> fc: linear(classes)
}
