# Building blocks of DenseNet, shared by densenet.rg and densenet_bc.rg.
# Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks", 2017.
# Labels follow torchvision (norm1, conv1, norm2, conv2; norm, conv; conv0, norm0,
# denseblock1, transition1, ..., norm5). Every conv is bias-free: a conv that feeds a
# bn gets that from bias=auto, the others (into a concat or a pool) say bias=false.

# DenseNet-B layer: bn-relu-conv1x1(bn_size * growth) -> bn-relu-conv3x3(growth).
block dense_layer(growth, bn_size=4) {
    norm1: bn -> relu -> conv1: conv(bn_size * growth, 1)
    -> norm2: bn -> relu -> conv2: conv(growth, 3, bias=false)
}

# Transition (DenseNet-C compression): bn-relu-conv1x1 to int(ratio * channels), avgpool 2.
block transition(ratio=0.5) {
    norm: bn -> relu -> conv: conv(int(in.channels * ratio), 1, bias=false) -> avgpool(2)
}

# The ImageNet feature extractor (torchvision's `features`): a 7x7/2 stem, four dense
# blocks of b1..b4 layers (named denselayer1, denselayer2, ...) with transitions between
# them, and a last bn (norm5).
block densenet_features(b1, b2, b3, b4, growth=32, init=64, bn_size=4, ratio=0.5) {
    conv0: conv(init, 7, stride=2) -> norm0: bn -> relu -> maxpool(3, stride=2, pad=1)
    -> denseblock1: dense(layers=b1) as i { "denselayer{i + 1}": dense_layer(growth, bn_size) }
    -> transition1: transition(ratio)
    -> denseblock2: dense(layers=b2) as i { "denselayer{i + 1}": dense_layer(growth, bn_size) }
    -> transition2: transition(ratio)
    -> denseblock3: dense(layers=b3) as i { "denselayer{i + 1}": dense_layer(growth, bn_size) }
    -> transition3: transition(ratio)
    -> denseblock4: dense(layers=b4) as i { "denselayer{i + 1}": dense_layer(growth, bn_size) }
    -> norm5: bn
}
