# DenseNet-121 (a DenseNet-BC) for ImageNet, torchvision layout (7,978,856 parameters).
# Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks", 2017.
# Growth rate 32, bottleneck width 4 x 32, 64 initial features, compression 0.5,
# dense blocks of (6, 12, 24, 16) layers.
use "densenet_blocks.rg"

network densenet121(classes=1000, size=224, growth=32, bn_size=4) {
    input x[3, size, size]
    x -> features: densenet_features(6, 12, 24, 16, growth=growth, init=2 * growth, bn_size=bn_size)
      -> relu -> gap -> flatten -> classifier: linear(classes)
}
