# VGG-11/13/16/19 for ImageNet, with and without batch norm, torchvision layout (vgg16: 138,357,544 parameters).
# Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", 2014.
# Configurations A (11), B (13), D (16) and E (19): 3x3 convs in five stages of 64, 128, 256,
# 512 and 512 channels, each closed by a 2x2 max pool; then 7x7 adaptive average pooling and
# three linear layers. `features` is one nn.Sequential in torchvision, every module numbered
# (features.0, features.2, features.5, ...), so each network spells its chain out: a block or
# a repeated sub-chain would be a level of its own (features.0.0). The convs keep their bias
# also before a bn, as torchvision's do.

block classifier(classes, p=0.5) {
    0: linear(4096) -> relu -> dropout(p) -> 3: linear(4096) -> relu -> dropout(p) -> 6: linear(classes)
}

network vgg11(classes=1000, size=224) {
    input x[3, size, size]
    x -> features: (conv(64, 3) -> relu -> maxpool(2) -> conv(128, 3) -> relu -> maxpool(2)
        -> conv(256, 3) -> relu -> conv(256, 3) -> relu -> maxpool(2)
        -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> maxpool(2)
        -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> maxpool(2))
      -> adaptiveavgpool(7) -> flatten -> classifier: classifier(classes)
}

network vgg11_bn(classes=1000, size=224) {
    input x[3, size, size]
    x -> features: (conv(64, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(128, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(256, 3, bias=true) -> bn -> relu -> conv(256, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu -> maxpool(2))
      -> adaptiveavgpool(7) -> flatten -> classifier: classifier(classes)
}

network vgg13(classes=1000, size=224) {
    input x[3, size, size]
    x -> features: (conv(64, 3) -> relu -> conv(64, 3) -> relu -> maxpool(2)
        -> conv(128, 3) -> relu -> conv(128, 3) -> relu -> maxpool(2)
        -> conv(256, 3) -> relu -> conv(256, 3) -> relu -> maxpool(2)
        -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> maxpool(2)
        -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> maxpool(2))
      -> adaptiveavgpool(7) -> flatten -> classifier: classifier(classes)
}

network vgg13_bn(classes=1000, size=224) {
    input x[3, size, size]
    x -> features: (conv(64, 3, bias=true) -> bn -> relu -> conv(64, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(128, 3, bias=true) -> bn -> relu -> conv(128, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(256, 3, bias=true) -> bn -> relu -> conv(256, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu -> maxpool(2))
      -> adaptiveavgpool(7) -> flatten -> classifier: classifier(classes)
}

network vgg16(classes=1000, size=224) {
    input x[3, size, size]
    x -> features: (conv(64, 3) -> relu -> conv(64, 3) -> relu -> maxpool(2)
        -> conv(128, 3) -> relu -> conv(128, 3) -> relu -> maxpool(2)
        -> conv(256, 3) -> relu -> conv(256, 3) -> relu -> conv(256, 3) -> relu -> maxpool(2)
        -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> maxpool(2)
        -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> maxpool(2))
      -> adaptiveavgpool(7) -> flatten -> classifier: classifier(classes)
}

network vgg16_bn(classes=1000, size=224) {
    input x[3, size, size]
    x -> features: (conv(64, 3, bias=true) -> bn -> relu -> conv(64, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(128, 3, bias=true) -> bn -> relu -> conv(128, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(256, 3, bias=true) -> bn -> relu -> conv(256, 3, bias=true) -> bn -> relu
        -> conv(256, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu
        -> conv(512, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu
        -> conv(512, 3, bias=true) -> bn -> relu -> maxpool(2))
      -> adaptiveavgpool(7) -> flatten -> classifier: classifier(classes)
}

network vgg19(classes=1000, size=224) {
    input x[3, size, size]
    x -> features: (conv(64, 3) -> relu -> conv(64, 3) -> relu -> maxpool(2)
        -> conv(128, 3) -> relu -> conv(128, 3) -> relu -> maxpool(2)
        -> conv(256, 3) -> relu -> conv(256, 3) -> relu -> conv(256, 3) -> relu -> conv(256, 3) -> relu -> maxpool(2)
        -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> maxpool(2)
        -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> conv(512, 3) -> relu -> maxpool(2))
      -> adaptiveavgpool(7) -> flatten -> classifier: classifier(classes)
}

network vgg19_bn(classes=1000, size=224) {
    input x[3, size, size]
    x -> features: (conv(64, 3, bias=true) -> bn -> relu -> conv(64, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(128, 3, bias=true) -> bn -> relu -> conv(128, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(256, 3, bias=true) -> bn -> relu -> conv(256, 3, bias=true) -> bn -> relu
        -> conv(256, 3, bias=true) -> bn -> relu -> conv(256, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu -> maxpool(2)
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu
        -> conv(512, 3, bias=true) -> bn -> relu -> conv(512, 3, bias=true) -> bn -> relu -> maxpool(2))
      -> adaptiveavgpool(7) -> flatten -> classifier: classifier(classes)
}
