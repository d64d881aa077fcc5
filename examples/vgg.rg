# VGG-11/13/16/19 for ImageNet, with and without batch norm, torchvision layout (vgg16: 138,357,544 parameters).
# Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", 2014.
# Configurations A (11), B (13), D (16) and E (19): five stages of 3x3 convs, 64, 128, 256, 512
# and 512 channels wide, each closed by a 2x2 max pool; then 7x7 adaptive average pooling and
# three linear layers. torchvision's `features` and `classifier` are flat nn.Sequentials that
# number every module (features.0 conv, features.1 relu, ...): the spreads (`...`) number the
# nodes of each stage in the enclosing `features` rather than making a level per stage. The
# convs keep their bias also before a bn, as torchvision's do.

let widths = [64, 128, 256, 512, 512]

# n convs (each followed by a bn when norm is true) with relus, then a max pool.
block stage(c, n, norm) { (conv(c, 3, bias=true) -> bn if norm -> relu) * n -> maxpool(2) }

# classifier.0, .3 and .6 are the linear layers.
block head(classes, p=0.5) {
    linear(4096) -> relu -> dropout(p) -> linear(4096) -> relu -> dropout(p) -> linear(classes)
}

network vgg11(classes=1000, size=224, n=[1, 1, 2, 2, 2], norm=false) { input x[3, size, size]
    x -> features: (...stage(widths[j], n[j], norm) * 5 as j)
      -> adaptiveavgpool(7) -> flatten -> classifier: (...head(classes)) }
network vgg11_bn(classes=1000, size=224, n=[1, 1, 2, 2, 2], norm=true) { input x[3, size, size]
    x -> features: (...stage(widths[j], n[j], norm) * 5 as j)
      -> adaptiveavgpool(7) -> flatten -> classifier: (...head(classes)) }
network vgg13(classes=1000, size=224, n=[2, 2, 2, 2, 2], norm=false) { input x[3, size, size]
    x -> features: (...stage(widths[j], n[j], norm) * 5 as j)
      -> adaptiveavgpool(7) -> flatten -> classifier: (...head(classes)) }
network vgg13_bn(classes=1000, size=224, n=[2, 2, 2, 2, 2], norm=true) { input x[3, size, size]
    x -> features: (...stage(widths[j], n[j], norm) * 5 as j)
      -> adaptiveavgpool(7) -> flatten -> classifier: (...head(classes)) }
network vgg16(classes=1000, size=224, n=[2, 2, 3, 3, 3], norm=false) { input x[3, size, size]
    x -> features: (...stage(widths[j], n[j], norm) * 5 as j)
      -> adaptiveavgpool(7) -> flatten -> classifier: (...head(classes)) }
network vgg16_bn(classes=1000, size=224, n=[2, 2, 3, 3, 3], norm=true) { input x[3, size, size]
    x -> features: (...stage(widths[j], n[j], norm) * 5 as j)
      -> adaptiveavgpool(7) -> flatten -> classifier: (...head(classes)) }
network vgg19(classes=1000, size=224, n=[2, 2, 4, 4, 4], norm=false) { input x[3, size, size]
    x -> features: (...stage(widths[j], n[j], norm) * 5 as j)
      -> adaptiveavgpool(7) -> flatten -> classifier: (...head(classes)) }
network vgg19_bn(classes=1000, size=224, n=[2, 2, 4, 4, 4], norm=true) { input x[3, size, size]
    x -> features: (...stage(widths[j], n[j], norm) * 5 as j)
      -> adaptiveavgpool(7) -> flatten -> classifier: (...head(classes)) }
