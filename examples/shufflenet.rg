# ShuffleNet V2 0.5x/1.0x/1.5x/2.0x for ImageNet, torchvision layout (x1_0: 2,278,604 parameters).
# Ma, Zhang, Zheng and Sun, "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design", 2018.
# A unit splits its channels in halves, passes the first and runs the second through
# branch2 (1x1, depthwise 3x3, 1x1), concatenates and shuffles the channels in 2 groups. The
# first unit of a stage halves the map: both branches read the whole input. `c` lists the
# widths of stage2..4 and conv5; the stem has 24 channels. All convs are bias-free.

block down(c) {                 # stride 2: branch1 and branch2 both read the input
    parallel {
        branch1: (conv(in.channels, 3, stride=2, groups=in.channels) -> bn
                  -> conv(c // 2, 1) -> bn -> relu)
        branch2: (conv(c // 2, 1) -> bn -> relu -> conv(c // 2, 3, stride=2, groups=c // 2) -> bn
                  -> conv(c // 2, 1) -> bn -> relu)
    }
    -> shuffle(2)
}

block unit() {                  # stride 1: the first half passes through
    let h = in.channels // 2
    parallel {
        slice(0, h)
        slice(h, 2 * h) -> branch2: (conv(h, 1) -> bn -> relu -> conv(h, 3, groups=h) -> bn
                                     -> conv(h, 1) -> bn -> relu)
    }
    -> shuffle(2)
}

network shufflenet_v2_x0_5(classes=1000, size=224, c=[48, 96, 192, 1024]) {
    input x[3, size, size]
    x -> conv1: (conv(24, 3, stride=2) -> bn -> relu) -> maxpool(3, stride=2, pad=1)
      -> stage2: (down(c[0]) -> unit * 3) -> stage3: (down(c[1]) -> unit * 7)
      -> stage4: (down(c[2]) -> unit * 3)
      -> conv5: (conv(c[3], 1) -> bn -> relu) -> gap -> flatten -> fc: linear(classes)
}

network shufflenet_v2_x1_0(classes=1000, size=224, c=[116, 232, 464, 1024]) {
    input x[3, size, size]
    x -> conv1: (conv(24, 3, stride=2) -> bn -> relu) -> maxpool(3, stride=2, pad=1)
      -> stage2: (down(c[0]) -> unit * 3) -> stage3: (down(c[1]) -> unit * 7)
      -> stage4: (down(c[2]) -> unit * 3)
      -> conv5: (conv(c[3], 1) -> bn -> relu) -> gap -> flatten -> fc: linear(classes)
}

network shufflenet_v2_x1_5(classes=1000, size=224, c=[176, 352, 704, 1024]) {
    input x[3, size, size]
    x -> conv1: (conv(24, 3, stride=2) -> bn -> relu) -> maxpool(3, stride=2, pad=1)
      -> stage2: (down(c[0]) -> unit * 3) -> stage3: (down(c[1]) -> unit * 7)
      -> stage4: (down(c[2]) -> unit * 3)
      -> conv5: (conv(c[3], 1) -> bn -> relu) -> gap -> flatten -> fc: linear(classes)
}

network shufflenet_v2_x2_0(classes=1000, size=224, c=[244, 488, 976, 2048]) {
    input x[3, size, size]
    x -> conv1: (conv(24, 3, stride=2) -> bn -> relu) -> maxpool(3, stride=2, pad=1)
      -> stage2: (down(c[0]) -> unit * 3) -> stage3: (down(c[1]) -> unit * 7)
      -> stage4: (down(c[2]) -> unit * 3)
      -> conv5: (conv(c[3], 1) -> bn -> relu) -> gap -> flatten -> fc: linear(classes)
}
