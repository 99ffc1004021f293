"""Write your own layers, have minidl check their gradients, and train a network with them.

Run with ``python examples/custom_layer.py`` (numpy only). It

1. writes a new activation, Swish, in a few lines (``function`` and ``derivative``);
2. writes a new layer with parameters, Scale (``y = x * a + c`` per feature);
3. checks both with ``minidl.check_gradients`` and prints the reports;
4. shows the report of a deliberately broken Scale (its ``dL/da`` is not summed over
   the batch), which names the wrong gradient;
5. trains a network that uses both on a small regression problem with ``fit``.
"""

import numpy as np

from minidl import Activation, Adam, Dense, Layer, Network, Parameter, check_gradients


# 1. A new activation: define f(x) and f'(x) at the input x; forward/backward come free.
class Swish(Activation):
    """``f(x) = x * sigmoid(x)``; ``f'(x) = s + x * s * (1 - s)`` with ``s = sigmoid(x)``."""

    def function(self, x):
        return x / (1.0 + np.exp(-x))

    def derivative(self, x):
        s = 1.0 / (1.0 + np.exp(-x))
        return s + x * s * (1.0 - s)


# 2. A new layer with parameters: create Parameters in __init__, cache in forward,
#    fill every Parameter's grad and return dL/dx in backward.
class Scale(Layer):
    """A learnable scale and shift per feature: ``y = x * a + c``."""

    def __init__(self, features, name=None):
        super().__init__(name)
        self.features = features
        self.a = Parameter(np.ones(features), name="a")
        self.c = Parameter(np.zeros(features), name="c")

    def forward(self, x):
        self.x = x  # what backward needs
        return x * self.a.value + self.c.value

    def backward(self, grad_y):
        self.a.grad[...] = (grad_y * self.x).sum(axis=0)  # sum over the batch
        self.c.grad[...] = grad_y.sum(axis=0)
        return grad_y * self.a.value

    def output_features(self, input_features):
        return self.features  # for summary()

    def config(self):
        return {"features": self.features, "name": self.name}  # for saving


# 4. The same layer with a classic mistake: dL/da not summed over the batch.
class BrokenScale(Scale):
    def backward(self, grad_y):
        grad_x = super().backward(grad_y)
        self.a.grad[...] = (grad_y * self.x).mean(axis=0)  # mean instead of sum
        return grad_x


def main():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4))

    print("== 1. A new activation, Swish: f(x) = x * sigmoid(x) ==")
    swish = Swish()
    print("f([-1, 0, 1]) =", np.round(swish.forward(np.array([[-1.0, 0.0, 1.0]]))[0], 4))

    print("\n== 2. A new layer with parameters, Scale: y = x * a + c ==")
    print([f"{p.name} {p.shape}" for p in Scale(4).parameters()])

    print("\n== 3. Checking the new activation and the new layer ==")
    swish_report = check_gradients(Swish(), x)
    print(swish_report)
    scale = Scale(4)
    scale.a.value[...] = rng.uniform(0.5, 2.0, 4)  # not all ones: a stronger test
    scale.c.value[...] = rng.normal(size=4)
    print(check_gradients(scale, x))

    print("\n== 4. A broken layer: the report names the wrong gradient ==")
    broken = check_gradients(BrokenScale(4), x)
    print(broken)
    print("wrong gradients:", broken.failed_names)

    print("\n== 5. Training a network that uses them ==")
    # y = sin(2 x0) + x1 ** 2 - x0 * x1, with a little noise.
    data = rng.uniform(-1.5, 1.5, size=(512, 2))
    target = np.sin(2 * data[:, 0]) + data[:, 1] ** 2 - data[:, 0] * data[:, 1]
    target = target + rng.normal(0.0, 0.05, size=len(data))
    network = Network([Dense(2, 32, seed=1), Scale(32), Swish(), Dense(32, 1, seed=2)])
    print(network.summary())
    print("whole network:", "passed" if check_gradients(network, data[:16]).passed else "FAILED")
    network.compile(optimizer=Adam(learning_rate=0.01), loss="mse")
    before = network.evaluate(data, target)["loss"]
    network.fit(data, target, epochs=150, batch_size=32, verbose=0, seed=0)
    after = network.evaluate(data, target)["loss"]
    print(f"mean squared error before training: {before:.4f}")
    print(f"mean squared error after training:  {after:.4f}")
    print("the Scale layer learned a =", np.round(network[1].a.value[:4], 3), "...")


if __name__ == "__main__":
    main()
