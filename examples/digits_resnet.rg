# A small ResNet for the 8x8 handwritten digits (38,266 parameters).
# He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", 2015.
# The basic block of resnet18.rg on 1x8x8 images: a 3x3 stem with 16 channels,
# basic blocks of 16 and 32 channels (8x8, then 4x4 maps), global average pooling
# and a linear classifier. Trains to about 98% test accuracy in a few seconds on a CPU.
use "resnet_blocks.rg"

network digits_resnet(classes=10, width=16) {
    input x[1, 8, 8]
    x -> conv1: conv(width, 3) -> bn1: bn -> relu
      -> layer1: (basic(width))
      -> layer2: (basic(2 * width, stride=2) -> basic(2 * width))
      -> gap -> flatten -> fc: linear(classes)
}
