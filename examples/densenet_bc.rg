# DenseNet-BC for CIFAR-10, depth L and growth rate k (L=100, k=12: 769,162 parameters).
# Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks", 2017.
# A 3x3 conv with 2k channels, three dense blocks of (L - 4) / 6 bottleneck layers
# (bn-relu-conv1x1(4k)-bn-relu-conv3x3(k)) on 32x32, 16x16 and 8x8 maps, transitions
# with compression 0.5 between them, then bn, relu, global average pooling, linear.
# All convs are bias-free. L=250, k=24 gives the paper's 15.3M model; L=190, k=40 25.6M.
use "densenet_blocks.rg"

network densenet_bc(L=100, k=12, classes=10, compression=0.5) {
    input x[3, 32, 32]
    let n = (L - 4) // 6
    x -> conv0: conv(2 * k, 3, bias=false)
      -> denseblock1: dense(layers=n) as i { "denselayer{i + 1}": dense_layer(k) } -> transition1: transition(compression)
      -> denseblock2: dense(layers=n) as i { "denselayer{i + 1}": dense_layer(k) } -> transition2: transition(compression)
      -> denseblock3: dense(layers=n) as i { "denselayer{i + 1}": dense_layer(k) }
      -> norm4: bn -> relu -> gap -> flatten -> classifier: linear(classes)
}
