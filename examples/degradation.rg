# Residual networks of any depth for the 8x8 handwritten digits: the degradation
# experiment and lesion studies on a CPU in minutes (docs/experiments.md).
# He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", 2015 (figure 1);
# Veit, Wilber and Belongie, "Residual Networks Behave Like Ensembles of Relatively
# Shallow Networks", 2016.
# n basic units per stage: `width` channels on 8x8 maps, then 2 * width on 4x4 maps
# (the first unit of the second stage downsamples, with a projection shortcut).
# 4n + 2 weighted layers: n = 2, 4, 8 -> 10, 18, 34 layers; 2n units.
# CIFAR-format data: --set channels=3 --set size=32.
# Its plain counterpart (the same layers, no shortcut) is `--plain`:
#   resgraph analyze examples/degradation.rg --set n=8 --plain

block unit(c, stride=1) {
    residual(shortcut=project) {
        conv1: conv(c, 3, stride=stride) -> bn1: bn -> relu
        -> conv2: conv(c, 3) -> bn2: bn
    }
    -> relu
}

network degradation(n=3, width=16, classes=10, channels=1, size=8) {
    input x[channels, size, size]
    x -> conv1: conv(width, 3) -> bn1: bn -> relu
      -> layer1: (unit(width) * n)
      -> layer2: (unit(2 * width, stride=2) -> unit(2 * width) * (n - 1))
      -> gap -> flatten -> fc: linear(classes)
}
