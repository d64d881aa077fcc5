# ResNet-101 for ImageNet, torchvision layout (44,549,160 parameters).
# He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", 2015.
# Stages of bottleneck blocks: 3, 4, 23, 3. Labels give torchvision's state_dict keys,
# so torchvision checkpoints load with strict=True.
use "resnet_blocks.rg"

network resnet101(classes=1000, size=224) {
    input x[3, size, size]
    x -> conv1: conv(64, 7, stride=2) -> bn1: bn -> relu -> maxpool(3, stride=2, pad=1)
      -> layer1: (bottleneck(64) * 3)
      -> layer2: (bottleneck(128, stride=2) -> bottleneck(128) * 3)
      -> layer3: (bottleneck(256, stride=2) -> bottleneck(256) * 22)
      -> layer4: (bottleneck(512, stride=2) -> bottleneck(512) * 2)
      -> gap -> flatten -> fc: linear(classes)
}
