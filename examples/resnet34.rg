# ResNet-34 for ImageNet, torchvision layout (21,797,672 parameters).
# He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", 2015.
# Stages of basic blocks: 3, 4, 6, 3. Labels give torchvision's state_dict keys,
# so torchvision checkpoints load with strict=True.
use "resnet_blocks.rg"

network resnet34(classes=1000, size=224) {
    input x[3, size, size]
    x -> conv1: conv(64, 7, stride=2) -> bn1: bn -> relu -> maxpool(3, stride=2, pad=1)
      -> layer1: (basic(64) * 3)
      -> layer2: (basic(128, stride=2) -> basic(128) * 3)
      -> layer3: (basic(256, stride=2) -> basic(256) * 5)
      -> layer4: (basic(512, stride=2) -> basic(512) * 2)
      -> gap -> flatten -> fc: linear(classes)
}
