# DenseNet-121/161/169/201 for ImageNet, torchvision layout (densenet121: 7,978,856 parameters).
# Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks", 2017.
# DenseNet-BC: bottleneck layers (bn-relu-conv1x1(bn_size x growth)-bn-relu-conv3x3(growth)),
# compression 0.5 in the transitions; 2 x growth initial features. The blocks are in
# densenet_blocks.rg; keys are torchvision's (features.denseblock1.denselayer1.norm1, ...).
use "densenet_blocks.rg"

network densenet121(classes=1000, size=224, growth=32, bn_size=4) {
    input x[3, size, size]
    x -> features: densenet_features(6, 12, 24, 16, growth=growth, init=2 * growth, bn_size=bn_size)
      -> relu -> gap -> flatten -> classifier: linear(classes)
}

network densenet161(classes=1000, size=224, growth=48, bn_size=4) {
    input x[3, size, size]
    x -> features: densenet_features(6, 12, 36, 24, growth=growth, init=2 * growth, bn_size=bn_size)
      -> relu -> gap -> flatten -> classifier: linear(classes)
}

network densenet169(classes=1000, size=224, growth=32, bn_size=4) {
    input x[3, size, size]
    x -> features: densenet_features(6, 12, 32, 32, growth=growth, init=2 * growth, bn_size=bn_size)
      -> relu -> gap -> flatten -> classifier: linear(classes)
}

network densenet201(classes=1000, size=224, growth=32, bn_size=4) {
    input x[3, size, size]
    x -> features: densenet_features(6, 12, 48, 32, growth=growth, init=2 * growth, bn_size=bn_size)
      -> relu -> gap -> flatten -> classifier: linear(classes)
}
