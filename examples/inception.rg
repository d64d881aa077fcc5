# Inception v3 for ImageNet at 299x299, torchvision layout with its aux head (27,161,264 parameters).
# Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception Architecture for Computer Vision", 2015.
# Every conv is conv (no bias) + bn(eps 1e-3) + relu, named as in torchvision; modules A-E
# concatenate their branches in torchvision's order. AuxLogits reads Mixed_6e and is a second
# output (the published weights include it). Input: as googlenet.rg, torchvision's
# transform_input=True step is left out; normalise images with mean 0.5 and std 0.5 for the
# published weights.

# A kh x kw conv, "same" padding unless valid (a block parameter cannot pass conv's pad=auto on).
block bconv(c, kh=1, kw=kh, stride=1, valid=false) {
    conv: conv(c, [kh, kw], stride=stride, pad=0 if valid else [kh // 2, kw // 2])
    -> bn: bn(eps=0.001) -> relu
}

block inception_a(pool) {
    parallel {
        branch1x1: bconv(64)
        branch5x5_1: bconv(48) -> branch5x5_2: bconv(64, 5)
        branch3x3dbl_1: bconv(64) -> branch3x3dbl_2: bconv(96, 3) -> branch3x3dbl_3: bconv(96, 3)
        avgpool(3, stride=1, pad=1) -> branch_pool: bconv(pool)
    }
}

block inception_b() {           # grid reduction 35 -> 17
    parallel {
        branch3x3: bconv(384, 3, stride=2, valid=true)
        branch3x3dbl_1: bconv(64) -> branch3x3dbl_2: bconv(96, 3)
          -> branch3x3dbl_3: bconv(96, 3, stride=2, valid=true)
        maxpool(3, stride=2)
    }
}

block inception_c(c7) {         # factorised 7x7 convs
    parallel {
        branch1x1: bconv(192)
        branch7x7_1: bconv(c7) -> branch7x7_2: bconv(c7, 1, 7) -> branch7x7_3: bconv(192, 7, 1)
        branch7x7dbl_1: bconv(c7) -> branch7x7dbl_2: bconv(c7, 7, 1)
          -> branch7x7dbl_3: bconv(c7, 1, 7) -> branch7x7dbl_4: bconv(c7, 7, 1)
          -> branch7x7dbl_5: bconv(192, 1, 7)
        avgpool(3, stride=1, pad=1) -> branch_pool: bconv(192)
    }
}

block inception_d() {           # grid reduction 17 -> 8
    parallel {
        branch3x3_1: bconv(192) -> branch3x3_2: bconv(320, 3, stride=2, valid=true)
        branch7x7x3_1: bconv(192) -> branch7x7x3_2: bconv(192, 1, 7)
          -> branch7x7x3_3: bconv(192, 7, 1) -> branch7x7x3_4: bconv(192, 3, stride=2, valid=true)
        maxpool(3, stride=2)
    }
}

block inception_e() {           # expanded filter banks: 1x3 and 3x1 side by side
    parallel {
        branch1x1: bconv(320)
        branch3x3_1: bconv(384)
          -> parallel { branch3x3_2a: bconv(384, 1, 3); branch3x3_2b: bconv(384, 3, 1) }
        branch3x3dbl_1: bconv(448) -> branch3x3dbl_2: bconv(384, 3)
          -> parallel { branch3x3dbl_3a: bconv(384, 1, 3); branch3x3dbl_3b: bconv(384, 3, 1) }
        avgpool(3, stride=1, pad=1) -> branch_pool: bconv(192)
    }
}

block aux(classes) {
    avgpool(5, stride=3) -> conv0: bconv(128) -> conv1: bconv(768, 5, valid=true)
    -> gap -> flatten -> fc: linear(classes)
}

network inception_v3(classes=1000, size=299, p=0.5) {
    input x[3, size, size]
    x -> Conv2d_1a_3x3: bconv(32, 3, stride=2, valid=true) -> Conv2d_2a_3x3: bconv(32, 3, valid=true)
      -> Conv2d_2b_3x3: bconv(64, 3) -> maxpool(3, stride=2)
      -> Conv2d_3b_1x1: bconv(80) -> Conv2d_4a_3x3: bconv(192, 3, valid=true) -> maxpool(3, stride=2)
      -> Mixed_5b: inception_a(32) -> Mixed_5c: inception_a(64) -> Mixed_5d: inception_a(64)
      -> Mixed_6a: inception_b -> Mixed_6b: inception_c(128) -> Mixed_6c: inception_c(160)
      -> Mixed_6d: inception_c(160) -> Mixed_6e: inception_c(192)
      -> Mixed_7a: inception_d -> Mixed_7b: inception_e -> Mixed_7c: inception_e
      -> gap -> dropout(p) -> flatten -> fc: linear(classes)
    Mixed_6e -> AuxLogits: aux(classes)
    output fc, AuxLogits
}
