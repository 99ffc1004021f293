"""BatchNorm: batch statistics in training, running statistics in evaluation, exact backward."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import SGD, BatchNorm, Dense, Network, Parameter, check_gradients
from tests.messages import raises

RNG = np.random.default_rng(2024)


X = RNG.normal(3.0, 2.0, size=(8, 3))


def test_training_forward_standardises_each_feature_with_the_biased_variance():
    layer = BatchNorm(3, epsilon=1e-5)
    y = layer.forward(X)
    expected = (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0, ddof=0) + 1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-4)  # 1 - eps / var


def test_scale_and_shift_apply_after_normalising():
    layer = BatchNorm(3)
    layer.gamma.value[...] = [2.0, -1.0, 0.5]
    layer.beta.value[...] = [10.0, 0.0, -3.0]
    x_hat = (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0) + 1e-5)
    np.testing.assert_allclose(layer.forward(X), x_hat * [2.0, -1.0, 0.5] + [10.0, 0.0, -3.0], rtol=1e-12)


def test_gamma_and_beta_start_at_one_and_zero_and_are_the_only_parameters():
    layer = BatchNorm(4)
    assert [p.name for p in layer.parameters()] == ["gamma", "beta"]
    np.testing.assert_array_equal(layer.gamma.value, np.ones(4))
    np.testing.assert_array_equal(layer.beta.value, np.zeros(4))
    np.testing.assert_array_equal(layer.running_mean, np.zeros(4))
    np.testing.assert_array_equal(layer.running_var, np.ones(4))
    assert not isinstance(layer.running_mean, Parameter) and not isinstance(layer.running_var, Parameter)


def test_running_statistics_follow_the_keras_convention_with_the_biased_variance():
    layer = BatchNorm(3, momentum=0.9)
    first, second = X, RNG.normal(-1.0, 0.5, size=(5, 3))
    layer.forward(first)
    np.testing.assert_allclose(layer.running_mean, 0.1 * first.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * first.var(axis=0, ddof=0), rtol=1e-14)
    layer.forward(second)
    mean = 0.9 * (0.1 * first.mean(axis=0)) + 0.1 * second.mean(axis=0)
    var = 0.9 * (0.9 + 0.1 * first.var(axis=0)) + 0.1 * second.var(axis=0)
    np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-14)
    np.testing.assert_allclose(layer.running_var, var, rtol=1e-14)


def test_running_variance_differs_from_pytorch_by_the_unbiased_factor():
    # PyTorch: momentum_torch = 1 - momentum, running_var updated with var * N / (N - 1).
    n = len(X)
    minidl_layer = BatchNorm(3, momentum=0.9)
    minidl_layer.forward(X)
    torch_running_var = (1 - 0.1) * 1.0 + 0.1 * X.var(axis=0, ddof=1)
    minidl_update = minidl_layer.running_var - 0.9
    torch_update = torch_running_var - 0.9
    np.testing.assert_allclose(torch_update, minidl_update * n / (n - 1), rtol=1e-13)
    assert not np.allclose(minidl_layer.running_var, torch_running_var)


@pytest.mark.parametrize(("momentum", "mean_factor"), [(1.0, 0.0), (0.0, 1.0), (0.99, 0.01)])
def test_momentum_extremes(momentum, mean_factor):
    layer = BatchNorm(3, momentum=momentum)
    layer.forward(X)
    np.testing.assert_allclose(layer.running_mean, mean_factor * X.mean(axis=0), rtol=1e-13, atol=1e-15)


def test_evaluation_uses_running_statistics_and_leaves_them_alone():
    layer = BatchNorm(3)
    layer.running_mean[...] = [1.0, 2.0, 3.0]
    layer.running_var[...] = [4.0, 0.25, 1.0]
    layer.gamma.value[...] = [1.0, 2.0, 3.0]
    layer.eval()
    y = layer.forward(X)
    expected = (X - [1.0, 2.0, 3.0]) / np.sqrt(np.array([4.0, 0.25, 1.0]) + 1e-5) * [1.0, 2.0, 3.0]
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    np.testing.assert_array_equal(layer.running_mean, [1.0, 2.0, 3.0])
    # Each sample's output does not depend on its batch companions.
    np.testing.assert_allclose(layer.forward(X[2:3])[0], y[2], rtol=1e-12)
    np.testing.assert_allclose(layer.forward(X[:2]), y[:2], rtol=1e-12)


def reference_backward(x, gamma, eps, grad_y):
    """Backprop through the computational graph one primitive at a time (no closed form)."""
    n = x.shape[0]
    mu = x.sum(axis=0) / n
    xc = x - mu
    sq = xc**2
    var = sq.sum(axis=0) / n
    std = np.sqrt(var + eps)
    inv = 1.0 / std
    x_hat = xc * inv
    d_x_hat = grad_y * gamma
    d_inv = (d_x_hat * xc).sum(axis=0)
    d_xc = d_x_hat * inv
    d_std = -d_inv / std**2
    d_var = d_std * 0.5 / np.sqrt(var + eps)
    d_sq = np.ones_like(sq) * d_var / n
    d_xc = d_xc + 2.0 * xc * d_sq
    d_mu = -d_xc.sum(axis=0)
    d_x = d_xc + d_mu / n
    return d_x, (grad_y * x_hat).sum(axis=0), grad_y.sum(axis=0)


def test_training_backward_matches_step_by_step_backpropagation():
    layer = BatchNorm(3, epsilon=1e-3)
    gamma = np.array([1.5, -0.7, 2.0])
    layer.gamma.value[...] = gamma
    layer.forward(X)
    grad_y = RNG.normal(size=X.shape)
    grad_x = layer.backward(grad_y)
    d_x, d_gamma, d_beta = reference_backward(X, gamma, 1e-3, grad_y)
    np.testing.assert_allclose(grad_x, d_x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.gamma.grad, d_gamma, rtol=1e-12)
    np.testing.assert_allclose(layer.beta.grad, d_beta, rtol=1e-12)


def test_training_backward_passes_the_gradient_check():
    layer = BatchNorm(3)
    layer.gamma.value[...] = [1.5, -0.7, 2.0]
    layer.beta.value[...] = [0.3, 0.0, -1.0]
    report = check_gradients(layer, X)
    assert report.passed, report
    assert [row.name for row in report.rows] == ["input", "gamma", "beta"]


def test_training_input_gradient_sums_to_zero_per_feature():
    # The output does not change when a constant is added to a feature column, so the
    # input gradient of every feature sums to 0 over the batch.
    layer = BatchNorm(3)
    layer.forward(X)
    grad_x = layer.backward(RNG.normal(size=X.shape))
    np.testing.assert_allclose(grad_x.sum(axis=0), 0.0, atol=1e-12)


def test_evaluation_backward_is_the_affine_map():
    layer = BatchNorm(3)
    layer.running_var[...] = [4.0, 1.0, 0.25]
    layer.gamma.value[...] = [2.0, 1.0, 1.0]
    layer.eval()
    layer.forward(X)
    grad_y = RNG.normal(size=X.shape)
    np.testing.assert_allclose(
        layer.backward(grad_y), grad_y * [2.0, 1.0, 1.0] / np.sqrt(np.array([4.0, 1.0, 0.25]) + 1e-5),
        rtol=1e-12)
    assert check_gradients(layer, X).passed


def test_single_sample_in_evaluation_mode_and_its_backward():
    # One sample of shape (features,) enters through the Network, which adds the batch axis.
    layer = BatchNorm(2)
    net = Network([layer]).eval()
    y = net.forward(np.array([1.0, -1.0]))
    assert y.shape == (2,)
    assert net.backward(np.array([1.0, 1.0])).shape == (2,)
    np.testing.assert_allclose(layer.beta.grad, [1.0, 1.0])
    assert check_gradients(net, np.array([1.0, -1.0])).passed


@pytest.mark.parametrize("x", [np.ones((1, 3)), np.ones(3)])
def test_training_mode_needs_two_samples(x):
    with pytest.raises(ValueError, match="at least 2 samples"):
        Network([BatchNorm(3)]).forward(x)
    with pytest.raises(ValueError, match="at least 2 samples"):
        BatchNorm(3).forward(np.ones((1, 3)))


def test_float32_stays_float32():
    layer = BatchNorm(3, dtype=np.float32)
    x = X.astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32
    assert layer.running_mean.dtype == np.float32 and layer.running_var.dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32
    assert layer.gamma.grad.dtype == np.float32


def test_optimizer_updates_gamma_and_beta_but_never_the_running_statistics():
    net = Network([Dense(3, 3, seed=0), BatchNorm(3)])
    layer = net[1]
    net.forward(X)
    running = layer.running_mean.copy(), layer.running_var.copy()
    net.backward(np.ones((8, 3)) + RNG.normal(size=(8, 3)))
    gamma_before = layer.gamma.value.copy()
    SGD(learning_rate=0.5).step(net.parameters())
    assert not np.array_equal(layer.gamma.value, gamma_before)
    np.testing.assert_array_equal(layer.running_mean, running[0])
    np.testing.assert_array_equal(layer.running_var, running[1])


def test_summary_counts_gamma_and_beta():
    net = Network([Dense(3, 5, seed=0), BatchNorm(5)])
    assert "(None, 5)" in net.summary().splitlines()[4]
    assert "Total params: 30" in net.summary()  # 3*5 + 5, then 5 + 5


def test_config_and_state_arrays():
    layer = BatchNorm(4, momentum=0.8, epsilon=1e-3, dtype=np.float32, name="bn")
    assert layer.config() == {"num_features": 4, "momentum": 0.8, "epsilon": 1e-3,
                              "dtype": "float32", "name": "bn"}
    rebuilt = BatchNorm(**layer.config())
    assert rebuilt.config() == layer.config()
    state = layer.state_arrays()
    assert set(state) == {"running_mean", "running_var"}
    assert state["running_mean"] is layer.running_mean
    rebuilt.load_state_arrays({"running_mean": np.arange(4, dtype=np.float32),
                               "running_var": np.full(4, 2.0, dtype=np.float32)})
    np.testing.assert_array_equal(rebuilt.running_mean, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="running_var"):
        rebuilt.load_state_arrays({"running_mean": np.zeros(4, dtype=np.float32)})
    with pytest.raises(ValueError, match="shape"):
        rebuilt.load_state_arrays({"running_mean": np.zeros(3, dtype=np.float32),
                                   "running_var": np.zeros(4, dtype=np.float32)})


def test_saved_and_loaded_network_keeps_the_running_statistics(tmp_path):
    net = Network([Dense(3, 4, seed=0), BatchNorm(4)])
    for start in range(0, 8, 4):
        net.forward(X[start:start + 4])
    net.save(tmp_path / "bn.npz")
    loaded = minidl.load(tmp_path / "bn.npz")
    np.testing.assert_array_equal(loaded[1].running_mean, net[1].running_mean)
    np.testing.assert_array_equal(loaded[1].running_var, net[1].running_var)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_features": 0}, ValueError, "num_features"),
        ({"num_features": 3, "momentum": 1.5}, ValueError, "momentum"),
        ({"num_features": 3, "momentum": -0.1}, ValueError, "momentum"),
        ({"num_features": 3, "epsilon": 0.0}, ValueError, "epsilon"),
        ({"num_features": 3, "dtype": np.int64}, TypeError, "dtype"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchNorm(**kwargs)


def test_wrong_number_of_features_names_the_layer():
    with pytest.raises(ValueError, match=r"BatchNorm 'batchnorm'.*\(batch, 3\).*\(8, 2\)"):
        BatchNorm(3).forward(np.ones((8, 2)))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="before forward"):
        BatchNorm(3).backward(np.ones((2, 3)))


@pytest.mark.parametrize(("kwargs", "error", "fragments"), [
    ({"num_features": 0}, ValueError, ["num_features", "positive integer", "got 0"]),
    ({"num_features": 3, "momentum": 2}, ValueError, ["momentum", "[0.0, 1.0]", "got 2.0"]),
    ({"num_features": 3, "epsilon": 0}, ValueError, ["epsilon", "(0.0, inf]", "got 0.0"]),
    ({"num_features": 3, "dtype": int}, TypeError, ["dtype must be a floating dtype", "got int64"]),
])
def test_batchnorm_arguments_are_checked(kwargs: dict, error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: minidl.BatchNorm(**kwargs), "BatchNorm 'batchnorm'", *fragments)


def test_batchnorm_wrong_features_and_batch_of_one() -> None:
    layer = minidl.BatchNorm(3)
    raises(ValueError, lambda: layer.forward(np.ones((4, 2))), "BatchNorm 'batchnorm'",
           "expected input of shape (batch, 3) or (3,)", "got shape (4, 2)")
    raises(ValueError, lambda: layer.forward(np.ones((1, 3))), "at least 2 samples per batch",
           "got a batch of 1")
    raises(ValueError, lambda: layer.forward(np.ones((0, 3))), "got a batch of 0 (input shape (0, 3))")


def test_batchnorm_refuses_a_negative_variance_before_changing_anything():
    layer = BatchNorm(2)
    with pytest.raises(ValueError, match=r"'running_var' has negative entries \(min -1.0\)"):
        layer.load_state_arrays({"running_mean": np.array([5.0, 5.0]), "running_var": np.array([1.0, -1.0])})
    assert layer.running_mean.tolist() == [0.0, 0.0]
    assert layer.running_var.tolist() == [1.0, 1.0]


def test_batchnorm_of_a_wrong_dtype_variance_gets_the_dtype_message():
    layer = BatchNorm(2)
    with pytest.raises(ValueError, match=r"'running_var' must have shape \(2,\) and dtype float64"):
        layer.load_state_arrays({"running_mean": np.zeros(2), "running_var": np.array(["a", "b"])})


def test_load_refuses_a_batchnorm_config_with_huge_num_features_before_allocating(tmp_path):
    # BatchNorm made gamma, beta and its running statistics with np.ones/np.zeros, not through
    # initialize, so the loader's memory budget never saw them: a 2.6 KB file claiming
    # num_features=10**7 peaked at ~458 MiB before it was refused.
    import io
    import json
    import tracemalloc
    import zipfile

    path = str(tmp_path / "model.npz")
    Network([BatchNorm(3)]).save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(np.load(path, allow_pickle=False)["__minidl__"].tobytes())
    header["layers"][0]["config"]["num_features"] = 10**7
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), allow_pickle=False)
    members["__minidl__.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    tracemalloc.start()
    try:
        with pytest.raises(minidl.ModelFileError, match=r"config implies parameter shapes"):
            minidl.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


# -- images (N, C, H, W): per channel, as PyTorch's BatchNorm2d -----------------------------------
IMAGES = RNG.normal(1.0, 3.0, size=(4, 3, 2, 5))


def test_images_are_normalised_per_channel_by_hand():
    x = np.zeros((2, 2, 1, 2))
    # channel 0 holds 1, 3, 5, 7: mean 4, variance (9 + 1 + 1 + 9) / 4 = 5
    x[:, 0, 0] = [[1.0, 3.0], [5.0, 7.0]]
    x[:, 1] = 2.0  # channel 1 is constant: variance 0
    layer = BatchNorm(2)
    y = layer.forward(x)
    np.testing.assert_allclose(y[:, 0, 0], np.array([[-3.0, -1.0], [1.0, 3.0]]) / np.sqrt(5.0 + 1e-5))
    np.testing.assert_array_equal(y[:, 1], 0.0)
    np.testing.assert_allclose(layer.running_mean, [0.1 * 4.0, 0.1 * 2.0])
    np.testing.assert_allclose(layer.running_var, [0.9 + 0.1 * 5.0, 0.9])


@pytest.mark.parametrize("training", [True, False])
def test_images_equal_the_features_of_every_pixel(training):
    # BatchNorm(C) on (N, C, H, W) is BatchNorm(C) on the (N * H * W, C) table of pixels.
    images, pixels = BatchNorm(3, momentum=0.5), BatchNorm(3, momentum=0.5)
    for layer in (images, pixels):
        layer.gamma.value[:] = [1.5, -0.5, 2.0]
        layer.beta.value[:] = [0.1, 0.2, -0.3]
        layer.running_mean[:] = [0.5, -1.0, 2.0]
        layer.running_var[:] = [2.0, 0.5, 1.5]
        layer.train(training)

    def as_table(a):
        return a.transpose(0, 2, 3, 1).reshape(-1, 3)

    g = RNG.normal(size=IMAGES.shape)
    y = images.forward(IMAGES)
    np.testing.assert_allclose(as_table(y), pixels.forward(as_table(IMAGES)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(as_table(images.backward(g)), pixels.backward(as_table(g)), rtol=1e-10,
                               atol=1e-12)
    for a, b in zip(images.parameters(), pixels.parameters(), strict=True):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(images.running_mean, pixels.running_mean, rtol=1e-12)
    np.testing.assert_allclose(images.running_var, pixels.running_var, rtol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_images_pass_the_gradient_check(training):
    layer = BatchNorm(3)
    layer.gamma.value[:] = [1.5, -0.5, 2.0]
    layer.train(training)
    report = check_gradients(layer, IMAGES)
    assert report.passed, report


def test_images_in_float32_stay_float32():
    layer = BatchNorm(3, dtype=np.float32)
    y = layer.forward(IMAGES.astype(np.float32))
    grad_x = layer.backward(np.ones_like(y))
    assert (y.dtype, grad_x.dtype, layer.gamma.grad.dtype, layer.running_var.dtype) == (np.float32,) * 4


def test_one_image_of_several_pixels_can_train_but_one_pixel_cannot():
    assert BatchNorm(3).forward(IMAGES[:1]).shape == (1, 3, 2, 5)  # 10 values per channel
    raises(ValueError, lambda: BatchNorm(3).forward(np.ones((1, 3, 1, 1))), "BatchNorm 'batchnorm'",
           "at least 2 samples per batch", "(input shape (1, 3, 1, 1))")


def test_images_errors_name_the_channels_and_the_accepted_shapes():
    raises(ValueError, lambda: BatchNorm(3).forward(np.ones((2, 4, 5, 5))), "BatchNorm 'batchnorm'",
           "expected 3 input channels (axis 1); got 4", "(batch, 3, height, width)")
    raises(ValueError, lambda: BatchNorm(3).forward(np.ones((2, 3, 5))), "BatchNorm 'batchnorm'",
           "expected input of shape (batch, 3) or images (batch, 3, height, width)",
           "got an array of rank 3 with shape (2, 3, 5)")
    raises(ValueError, lambda: BatchNorm(3).forward(np.ones((2, 3, 5, 5, 1))), "rank 5")


def test_a_conv_network_with_batchnorm_saves_and_loads(tmp_path):
    network = Network([minidl.Conv2D(2, 3, 3, padding=1, seed=0), BatchNorm(3), minidl.ReLU(),
                       minidl.Flatten(), Dense(3 * 4 * 4, 1, seed=1)])
    network.forward(IMAGES[:, :2, :, :4].repeat(2, axis=2))  # moves the running statistics
    network.save(tmp_path / "bn.npz")
    loaded = minidl.load(tmp_path / "bn.npz")
    np.testing.assert_array_equal(loaded[1].running_var, network[1].running_var)
    x = RNG.normal(size=(3, 2, 4, 4))
    np.testing.assert_array_equal(loaded.predict(x), network.predict(x))


def test_images_match_pytorch_batch_norm():
    torch = pytest.importorskip("torch")
    layer = BatchNorm(3)
    layer.gamma.value[:] = [1.5, -0.5, 2.0]
    layer.beta.value[:] = [0.1, 0.2, -0.3]
    g = RNG.normal(size=IMAGES.shape)
    y = layer.forward(IMAGES)
    grad_x = layer.backward(g)
    tx = torch.tensor(IMAGES, requires_grad=True)
    tgamma = torch.tensor(layer.gamma.value, requires_grad=True)
    tbeta = torch.tensor(layer.beta.value, requires_grad=True)
    running_mean, running_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    ty = torch.nn.functional.batch_norm(tx, running_mean, running_var, tgamma, tbeta, training=True,
                                        momentum=0.1, eps=1e-5)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_x, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.gamma.grad, tgamma.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.beta.grad, tbeta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.running_mean, running_mean.numpy(), rtol=1e-12)
    # PyTorch's running variance uses the unbiased variance (see the class notes): m / (m - 1), m = N * H * W
    m = IMAGES.size // 3
    np.testing.assert_allclose(0.9 + (layer.running_var - 0.9) * m / (m - 1), running_var.numpy(), rtol=1e-12)


def test_float16_images_whose_sums_pass_65504_are_normalised():
    # 3 +- 1 on a checkerboard of 2 x 128 x 128 pixels: mean 3, variance 1, but the sum of the
    # batch is 98304, beyond float16's 65504: summed in float16 it was inf, so y and both
    # running statistics were NaN (after numpy's overflow warning).
    signs = np.where(np.indices((2, 1, 128, 128)).sum(axis=0) % 2 == 0, 1.0, -1.0).astype(np.float16)
    layer = BatchNorm(1, dtype=np.float16)
    y = layer.forward(3 + signs)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, signs)  # 1 / sqrt(1 + 1e-5) is 1 in float16
    np.testing.assert_allclose(layer.running_mean, [0.3], rtol=1e-3)
    np.testing.assert_array_equal(layer.running_var, np.array([1.0], np.float16))


def test_float16_backward_over_more_than_65504_values_keeps_the_mean_terms():
    # dL/dx = scale * (g - sum(g) / m - x_hat * sum(g * x_hat) / m), m = N * H * W = 65536: in float16
    # m itself is inf, so both mean terms were 0 (numpy warned of an overflow in a cast) and a constant
    # g = 0.5, whose true dL/dx is 0 (normalising removes any shift), gave 0.5 everywhere.
    signs = np.where(np.indices((4, 1, 128, 128)).sum(axis=0) % 2 == 0, 1.0, -1.0).astype(np.float16)
    layer = BatchNorm(1, dtype=np.float16)
    layer.forward(3 + signs)
    grad_x = layer.backward(np.full(signs.shape, 0.5, dtype=np.float16))
    assert grad_x.dtype == np.float16
    np.testing.assert_array_equal(grad_x, np.zeros(signs.shape, dtype=np.float16))
    np.testing.assert_array_equal(layer.beta.grad, np.array([32768.0], np.float16))
