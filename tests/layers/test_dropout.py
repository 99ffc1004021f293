"""Dropout: inverted, seeded, identity in evaluation, the same mask forward and backward."""

from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import Dense, Dropout, Network, check_gradients
from tests.messages import raises


def test_training_mode_zeroes_or_rescales_each_value():
    x = np.arange(1.0, 201.0).reshape(20, 10)
    y = Dropout(0.25, seed=0).forward(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75)
    assert 0 < kept.sum() < x.size


def test_drop_fraction_close_to_rate_and_mean_preserved():
    x = np.ones((400, 250))
    y = Dropout(0.3, seed=1).forward(x)
    dropped = float((y == 0).mean())
    assert abs(dropped - 0.3) < 0.01  # 100000 draws: standard error 0.0015
    assert abs(float(y.mean()) - 1.0) < 0.02


def test_eval_mode_is_the_identity_and_returns_the_input():
    layer = Dropout(0.5, seed=0)
    layer.eval()
    x = np.arange(6.0).reshape(2, 3)
    assert layer.forward(x) is x
    grad = np.ones((2, 3))
    assert layer.backward(grad) is grad
    assert layer.mask is None


def test_rate_zero_keeps_everything():
    x = np.arange(6.0).reshape(2, 3)
    layer = Dropout(0.0, seed=0)
    np.testing.assert_array_equal(layer.forward(x), x)


def test_backward_uses_the_forward_mask_even_after_switching_mode():
    layer = Dropout(0.5, seed=3)
    x = np.ones((4, 5))
    y = layer.forward(x)
    layer.eval()
    grad_y = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(layer.backward(grad_y), grad_y * y)  # y is the mask for x = 1
    np.testing.assert_array_equal(grad_y, np.arange(20.0).reshape(4, 5))  # not mutated


def test_same_seed_same_masks_different_seed_different_masks():
    x = np.ones((6, 7))
    first, again, other = Dropout(0.5, seed=11), Dropout(0.5, seed=11), Dropout(0.5, seed=12)
    for _ in range(3):
        mask = first.forward(x)
        np.testing.assert_array_equal(mask, again.forward(x))
    assert not np.array_equal(first.forward(x), other.forward(x))


def test_each_forward_draws_a_new_mask():
    layer = Dropout(0.5, seed=0)
    x = np.ones((8, 8))
    assert not np.array_equal(layer.forward(x), layer.forward(x))


def test_float32_stays_float32():
    layer = Dropout(0.4, seed=0)
    x = np.ones((3, 4), dtype=np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32 and layer.mask.dtype == np.float32
    assert layer.backward(np.ones((3, 4), dtype=np.float32)).dtype == np.float32
    np.testing.assert_allclose(y[y != 0], np.float32(1 / 0.6))


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, float("nan")])
def test_rate_outside_zero_to_one_is_rejected(rate):
    with pytest.raises(ValueError, match="Dropout rate"):
        Dropout(rate)


@pytest.mark.parametrize("rate", ["0.5", None, True])
def test_rate_of_the_wrong_type_is_rejected(rate):
    with pytest.raises(TypeError, match="Dropout rate"):
        Dropout(rate)


def test_backward_before_forward_and_wrong_gradient_shape():
    layer = Dropout(0.5, seed=0)
    with pytest.raises(RuntimeError, match="backward\\(\\) called before forward"):
        layer.backward(np.ones((2, 2)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        layer.backward(np.ones((3, 2)))


def test_gradient_check_in_training_mode_sees_one_fixed_mask():
    layer = Dropout(0.5, seed=7)
    x = np.random.default_rng(0).normal(size=(5, 4))
    report = check_gradients(layer, x)
    assert report.passed and report["input"].checked == 20
    # Not a trivial pass: the same layer draws a mask with both dropped and kept values.
    mask = layer.forward(x) / x
    assert set(np.round(mask, 12).ravel().tolist()) == {0.0, 2.0}


def test_config_summary_and_shape():
    layer = Dropout(0.2, seed=5, name="drop")
    assert layer.config() == {"rate": 0.2, "seed": 5, "name": "drop"}
    assert Dropout(0.2, seed=np.random.default_rng(0)).config()["seed"] is None
    assert layer.output_features(7) == 7
    assert layer.parameters() == []
    net = Network([Dense(3, 4, seed=0), layer])
    assert "(None, 4)" in net.summary()


def test_predict_is_deterministic_while_training_forward_is_not():
    net = Network([Dense(3, 8, seed=0), Dropout(0.5, seed=0), Dense(8, 1, seed=1)])
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(net.predict(x), net.predict(x))
    assert net.training  # predict restored the mode
    assert not np.array_equal(net.forward(x), net.forward(x))


@pytest.mark.parametrize(("rate", "error", "fragments"), [
    (1.0, ValueError, ["[0.0, 1.0)", "got 1.0"]),
    (-0.1, ValueError, ["[0.0, 1.0)", "got -0.1"]),
    (np.nan, ValueError, ["finite", "got nan"]),
    ("0.5", TypeError, ["real number", "got '0.5'"]),
])
def test_dropout_rate_is_checked(rate: object, error: type[Exception], fragments: list[str]) -> None:
    raises(error, lambda: minidl.Dropout(rate), "Dropout rate", *fragments)


def test_dropout_keeps_float16_input_float16() -> None:
    y = minidl.Dropout(0.5, seed=0).forward(np.ones((4, 5), dtype=np.float16))
    assert y.dtype == np.float16
    assert set(y.ravel().tolist()) <= {0.0, 2.0}


def test_images_of_any_shape_get_one_mask_value_per_element() -> None:
    drop = Dropout(0.5, seed=1)
    x = np.ones((2, 3, 4, 5))
    y = drop.forward(x)
    assert y.shape == x.shape and set(np.unique(y)) == {0.0, 2.0}
    np.testing.assert_array_equal(drop.backward(np.full(x.shape, 3.0)), 3.0 * y)
    assert check_gradients(Dropout(0.3, seed=2), np.random.default_rng(0).normal(size=(2, 2, 3, 3))).passed
