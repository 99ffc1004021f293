"""Regression on scikit-learn's bundled diabetes data: a small MLP against least squares.

Run it with ``python examples/regression_diabetes.py`` after ``pip install -e ".[examples]"``
(scikit-learn only provides the data: 442 patients, 10 measurements each, and a
measure of disease progression one year later, bundled with the package).

The inputs are standardised with the training set's mean and standard deviation (and
the target too, for training; predictions are scaled back). A 10 -> 8 (ReLU) -> 1
network trains with Adam on the mean squared error, with a validation split and early
stopping. Its test mean squared error is printed next to that of a linear least-squares
fit (``numpy.linalg.lstsq`` with an intercept) on the same split: on this small, nearly
linear data set the two are close, and the linear baseline is hard to beat.
"""

import numpy as np

import minidl

try:
    from sklearn.datasets import load_diabetes
except ImportError:
    message = 'This example needs scikit-learn for its bundled data: pip install -e ".[examples]"'
    raise SystemExit(message) from None

data = load_diabetes()
x, y = data.data, data.target
order = np.random.default_rng(0).permutation(len(x))
x, y = x[order], y[order]
split = int(0.8 * len(x))
x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]

# Standardise with the training set's statistics only.
mean, std = x_train.mean(axis=0), x_train.std(axis=0)
x_train_s, x_test_s = (x_train - mean) / std, (x_test - mean) / std
y_mean, y_std = y_train.mean(), y_train.std()

network = minidl.Network([
    minidl.Dense(10, 8, weight_init="he_normal", seed=1),
    minidl.ReLU(),
    minidl.Dense(8, 1, seed=2),
])
network.compile(optimizer=minidl.Adam(learning_rate=0.002), loss="mse", metrics=["mae"])
stop = minidl.EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)
history = network.fit(x_train_s, (y_train - y_mean) / y_std, epochs=500, batch_size=32,
                      validation_split=0.2, callbacks=[stop], verbose=0, seed=0)

predicted = network.predict(x_test_s)[:, 0] * y_std + y_mean
mlp_mse = float(np.mean((predicted - y_test) ** 2))

design_train = np.hstack([x_train_s, np.ones((len(x_train_s), 1))])
design_test = np.hstack([x_test_s, np.ones((len(x_test_s), 1))])
coefficients, *_ = np.linalg.lstsq(design_train, y_train, rcond=None)
linear_mse = float(np.mean((design_test @ coefficients - y_test) ** 2))
constant_mse = float(np.mean((y_mean - y_test) ** 2))

print(f"Trained {len(history.epoch)} epochs (best validation loss at epoch {stop.best_epoch + 1})")
print(f"Test mean squared error, predicting the mean:       {constant_mse:.1f}")
print(f"Test mean squared error, linear least squares:      {linear_mse:.1f}")
print(f"Test mean squared error, MLP 10-8-1 (minidl):       {mlp_mse:.1f}")
print(f"MLP / least squares: {mlp_mse / linear_mse:.3f}")
