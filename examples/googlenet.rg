# GoogLeNet (Inception v1) for ImageNet, torchvision layout without the aux heads (6,624,904 parameters).
# Szegedy et al., "Going Deeper with Convolutions", 2014.
# torchvision's variant: every conv is conv (no bias) + bn(eps 1e-3) + relu, max pools in ceil
# mode, and branch3 is a 3x3 conv where the paper has 5x5 (kept for the published checkpoint).
# Input: torchvision builds the pretrained model with transform_input=True, which maps
# ImageNet-normalised images to the mean-0.5/std-0.5 normalisation the weights were trained
# with. This file has no such step: with the published weights, normalise the images with
# mean 0.5 and std 0.5 per channel (x * 2 - 1 for images in [0, 1]).

block bconv(c, k=1, stride=1) { conv: conv(c, k, stride=stride) -> bn: bn(eps=0.001) -> relu }

block inception(c1, c3r, c3, c5r, c5, pool) {
    parallel {
        branch1: bconv(c1)
        branch2: (bconv(c3r) -> bconv(c3, 3))
        branch3: (bconv(c5r) -> bconv(c5, 3))
        branch4: (maxpool(3, stride=1, pad=1, ceil=true) -> bconv(pool))
    }
}

network googlenet(classes=1000, size=224, p=0.2) {
    input x[3, size, size]
    x -> conv1: bconv(64, 7, stride=2) -> maxpool(3, stride=2, ceil=true)
      -> conv2: bconv(64) -> conv3: bconv(192, 3) -> maxpool(3, stride=2, ceil=true)
      -> inception3a: inception(64, 96, 128, 16, 32, 32)
      -> inception3b: inception(128, 128, 192, 32, 96, 64) -> maxpool(3, stride=2, ceil=true)
      -> inception4a: inception(192, 96, 208, 16, 48, 64)
      -> inception4b: inception(160, 112, 224, 24, 64, 64)
      -> inception4c: inception(128, 128, 256, 24, 64, 64)
      -> inception4d: inception(112, 144, 288, 32, 64, 64)
      -> inception4e: inception(256, 160, 320, 32, 128, 128) -> maxpool(2, stride=2, ceil=true)
      -> inception5a: inception(256, 160, 320, 32, 128, 128)
      -> inception5b: inception(384, 192, 384, 48, 128, 128)
      -> gap -> flatten -> dropout(p) -> fc: linear(classes)
}
