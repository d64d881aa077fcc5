# A small U-Net for two-class segmentation of 1-channel 64x64 images.
# Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for Biomedical
# Image Segmentation", 2015. Three 2x down-sampling steps; each decoder level
# up-samples, convolves ("up-convolution"), then concatenates the encoder map of
# the same size through a skip edge before its two 3x3 convs. Unlike the paper,
# convs are padded, so no cropping is needed and the output is as large as the input.

block double_conv(c) {
    conv(c, 3) -> relu -> conv(c, 3) -> relu
}

network unet(base=16, classes=2, size=64) {
    input img[1, size, size]
    e1 = img -> double_conv(base)
    e2 = e1 -> maxpool(2) -> double_conv(base * 2)
    e3 = e2 -> maxpool(2) -> double_conv(base * 4)
    e3 -> maxpool(2) -> double_conv(base * 8)
      -> upsample(2) -> conv(base * 4, 3)
      -> d3: conv(base * 4, 3) -> relu -> conv(base * 4, 3) -> relu
      -> upsample(2) -> conv(base * 2, 3)
      -> d2: conv(base * 2, 3) -> relu -> conv(base * 2, 3) -> relu
      -> upsample(2) -> conv(base, 3)
      -> d1: conv(base, 3) -> relu -> conv(base, 3) -> relu
      -> conv(classes, 1)
    skip e3 -> d3                                # d3 reads concat(up-convolved, e3)
    skip e2 -> d2
    skip e1 -> d1
}
