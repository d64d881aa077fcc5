# Every connection kind of resgraph in one small image classifier.
# Residual: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", 2015.
# Highway: Srivastava, Greff and Schmidhuber, "Highway Networks", 2015.
# Dense: Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional
# Networks", 2017. Skip: Ronneberger, Fischer and Brox, "U-Net", 2015.
# Each kind appears once as a group and/or once as an edge statement.

network all_kinds(c=16, classes=10) {
    input x[3, 32, 32]
    stem = x -> conv(c, 3) -> bn -> relu

    # residual group: relu(F(stem) + stem)
    r1 = stem -> residual { conv(c, 3) -> bn -> relu -> conv(c, 3) -> bn } -> relu

    # residual edge: r2's input becomes bn(conv(...)) + r1
    r1 -> conv(c, 3) -> bn -> relu -> conv(c, 3) -> bn -> r2: relu
    residual r1 -> r2

    # highway group on feature maps (its gate is a 1x1 conv)
    hw = r2 -> highway { conv(c, 3) -> relu }

    # dense group: 3 layers of c/2 new channels each, then a 1x1 conv back to c
    dn = hw -> dense(layers=3) { bn -> relu -> conv(c // 2, 3) } -> conv(c, 1)

    # an encoder-decoder detour with two long skips
    dn -> maxpool(2) -> conv(2 * c, 3) -> relu -> upsample(2)
       -> up: conv(c, 3) -> relu -> mix: conv(c, 1) -> relu
       -> gap -> flatten -> linear(classes)
    skip dn -> up                     # merge=concat: up reads concat(upsampled, dn)
    skip(merge=add) stem -> mix       # mix reads relu(up) + stem
}
