# A highway network on vectors (88,010 parameters with the defaults).
# Srivastava, Greff and Schmidhuber, "Highway Networks" and "Training Very Deep Networks", 2015.
# Each highway layer computes y = H(x) T(x) + x (1 - T(x)) with H = relu(linear(x))
# and the transform gate T = sigmoid(linear(x)), whose bias starts at -2 so the
# layer first carries its input through. The input is 64 features: the 8x8
# handwritten digits, flattened.

network highway_mlp(d=64, layers=10, classes=10) {
    input x[64]
    x -> stem: linear(d)
      -> highway { linear(d) -> relu } * layers
      -> head: linear(classes)
}
