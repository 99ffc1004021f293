"""Initializers (minidl/initializers.py): seeded, scaled as named, bad names refused."""

import numpy as np
import pytest

from minidl import Dense


@pytest.mark.parametrize("init", ["he_normal", "he_uniform", "glorot_normal", "glorot_uniform"])
def test_initializers_are_reproducible_from_a_seed_or_generator(init):
    a = Dense(50, 40, weight_init=init, seed=3).weight.value
    b = Dense(50, 40, weight_init=init, seed=np.random.default_rng(3)).weight.value
    c = Dense(50, 40, weight_init=init, seed=4).weight.value
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_initializer_scales():
    fan_in, fan_out = 400, 300
    he = Dense(fan_in, fan_out, weight_init="he_normal", seed=0).weight.value
    assert he.std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.02)
    glorot = Dense(fan_in, fan_out, weight_init="glorot_uniform", seed=0).weight.value
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert glorot.max() <= limit and glorot.min() >= -limit
    assert glorot.max() > 0.99 * limit
    he_u = Dense(fan_in, fan_out, weight_init="he_uniform", seed=0).weight.value
    assert np.abs(he_u).max() <= np.sqrt(6 / fan_in)
    glorot_n = Dense(fan_in, fan_out, weight_init="glorot_normal", seed=0).weight.value
    assert glorot_n.std() == pytest.approx(np.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    assert not Dense(3, 2, weight_init="zeros").weight.value.any()


def test_bad_initializers_are_errors():
    with pytest.raises(ValueError, match=r"unknown initializer 'he'.*he_normal"):
        Dense(2, 2, weight_init="he")
    with pytest.raises(ValueError, match=r"expected an array of shape \(2, 2\); got shape \(2,\)"):
        Dense(2, 2, weight_init=[1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        Dense(2, 1, weight_init=[[np.nan], [1.0]])
    with pytest.raises(TypeError, match="floating dtype"):
        Dense(2, 1, dtype=np.int64)
    with pytest.raises(TypeError, match="seed"):
        Dense(2, 1, seed="abc")


@pytest.mark.parametrize("values", [
    np.ones((2, 2)) * (1 + 1j),      # the cast kept 1 and dropped the imaginary part, with a warning only
    [["a", "b"], ["c", "d"]],        # numpy's "could not convert string to float"
    lambda shape, rng, dtype: np.ones(shape, dtype=complex),  # a function's values are checked too
], ids=["complex", "strings", "function"])
def test_initial_values_that_are_not_real_numbers_are_refused(values):
    with pytest.raises(TypeError, match=r"^Dense 'dense' weight_init: initial values must be real "
                                        r"numbers; got dtype (complex128|<U1)$"):
        Dense(2, 2, weight_init=values)
    assert Dense(2, 2, weight_init=[[True, False], [False, True]]).weight.value.trace() == 2.0


def test_a_convolution_kernel_counts_its_window_in_both_fans():
    from minidl.initializers import glorot_uniform, he_normal

    # (out_channels, in_channels, kh, kw): fan_in = 8 * 3 * 3 = 72, fan_out = 32 * 3 * 3 = 288
    rng = np.random.default_rng(0)
    assert he_normal((32, 8, 3, 3), rng, np.float64).std() == pytest.approx(np.sqrt(2 / 72), rel=0.03)
    limit = np.sqrt(6 / (72 + 288))
    glorot = glorot_uniform((32, 8, 3, 3), rng, np.float64)
    assert glorot.max() <= limit and glorot.max() > 0.99 * limit


def test_make_rng_takes_a_generator_as_is_and_refuses_other_seeds():
    from minidl.initializers import make_rng

    rng = np.random.default_rng(0)
    assert make_rng(rng) is rng
    np.testing.assert_array_equal(make_rng(np.int64(5)).random(3), np.random.default_rng(5).random(3))
    assert isinstance(make_rng(None), np.random.Generator)
    for bad in (True, 1.0, "3", np.random.RandomState(0)):
        with pytest.raises(TypeError, match=r"^seed must be an int, a numpy.random.Generator or None; got "):
            make_rng(bad)
    negative_message = r"^seed must be a non-negative int, a numpy.random.Generator or None; got "
    for negative in (-1, np.int32(-2)):
        with pytest.raises(ValueError, match=negative_message):
            make_rng(negative)
