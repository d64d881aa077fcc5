# AlexNet for ImageNet, torchvision layout (61,100,840 parameters).
# Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural Networks", 2012.
# torchvision's single-tower variant (Krizhevsky, "One weird trick...", 2014): 64-192-384-256-256
# channels. Every module of `features` and `classifier` takes the next number, as in
# nn.Sequential, so the keys are features.{0,3,6,8,10} and classifier.{1,4,6}.

network alexnet(classes=1000, size=224, p=0.5) {
    input x[3, size, size]
    x -> features: (conv(64, 11, stride=4, pad=2) -> relu -> maxpool(3, stride=2)
                    -> conv(192, 5) -> relu -> maxpool(3, stride=2)
                    -> conv(384, 3) -> relu -> conv(256, 3) -> relu -> conv(256, 3) -> relu
                    -> maxpool(3, stride=2))
      -> adaptiveavgpool(6) -> flatten
      -> classifier: (dropout(p) -> linear(4096) -> relu -> dropout(p) -> linear(4096) -> relu
                      -> linear(classes))
}
