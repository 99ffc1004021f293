"""minidl._validation: the checks run where data and arguments enter."""

import re

import numpy as np
import pytest

from minidl._validation import (
    as_batch,
    as_float_array,
    check_bool,
    check_count,
    check_float_dtype,
    check_in_range,
    check_int_pair,
    check_positive_int,
    check_verbose,
)
from tests.messages import raises


def test_as_batch_adds_an_axis_to_one_sample_as_a_view_and_says_so():
    sample = np.array([1.0, 2.0, 3.0])
    batch, single = as_batch(sample)
    assert single and batch.shape == (1, 3) and np.shares_memory(batch, sample)
    np.testing.assert_array_equal(batch[0], sample)


@pytest.mark.parametrize("shape", [(), (2, 3), (2, 3, 4, 5)])
def test_as_batch_leaves_every_other_rank_as_it_is(shape):
    x = np.zeros(shape)
    batch, single = as_batch(x)
    assert batch is x and not single


def test_check_bool_and_check_float_dtype_name_the_argument():
    assert check_bool(np.bool_(True), "use_bias") is True
    with pytest.raises(TypeError, match="use_bias must be True or False; got 'no'"):
        check_bool("no", "use_bias")
    assert check_float_dtype("float32", "dtype") == np.float32
    with pytest.raises(TypeError, match="dtype must be a floating dtype; got int64"):
        check_float_dtype(np.int64, "dtype")


def test_check_int_pair_reads_an_int_as_a_square_and_names_the_argument():
    assert check_int_pair(3, "size") == (3, 3)
    assert check_int_pair([2, np.int64(5)], "size") == (2, 5)
    assert check_int_pair((0, 1), "pad", minimum=0) == (0, 1)
    with pytest.raises(ValueError, match=r"size must be positive integers .*; got \(2, 0\)"):
        check_int_pair((2, 0), "size")
    with pytest.raises(ValueError, match=r"pad must be integers >= 0 .*; got -1"):
        check_int_pair(-1, "pad", minimum=0)
    with pytest.raises(TypeError, match=r"size must be an int or a pair of ints \(height, width\); got '3'"):
        check_int_pair("3", "size")
    with pytest.raises(ValueError, match=r"got \(True, 2\)"):
        check_int_pair((True, 2), "size")


def test_check_count_takes_zero_and_numpy_integers_and_refuses_the_rest():
    assert check_count(0, "patience") == 0
    assert check_count(np.int64(3), "patience") == 3 and type(check_count(np.int64(3), "patience")) is int
    for bad in (-1, 1.5, True, "2", None):
        message = f"ReduceLROnPlateau cooldown must be an integer >= 0; got {bad!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            check_count(bad, "ReduceLROnPlateau cooldown")


def test_check_positive_int_refuses_zero_which_check_count_takes():
    with pytest.raises(ValueError, match=r"^fit batch_size must be a positive integer; got 0$"):
        check_positive_int(0, "fit batch_size")
    assert check_positive_int(np.int32(5), "fit batch_size") == 5


@pytest.mark.parametrize("value", ["nope", 2.0, object()])
def test_check_float_dtype_names_the_argument_for_what_numpy_cannot_read_as_a_dtype(value):
    message = f"Dense 'dense': dtype must be a floating dtype; got {value!r}"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        check_float_dtype(value, "Dense 'dense': dtype")


@pytest.mark.parametrize("value", [1e6, -1e6, 70000], ids=["large", "negative", "integer"])
def test_as_float_array_names_the_dtype_a_value_does_not_fit(value):
    # It said "x must be finite; got inf" of finite data: the cast to float16 made the inf
    raises(ValueError, lambda: as_float_array(np.array([[1.0], [value]]), "fit x", dtype=np.float16),
           f"fit x holds {abs(value):g} (in magnitude), beyond the range of float16 (largest 65504)",
           "scale it down")
    raises(ValueError, lambda: as_float_array([[np.nan], [value]], "fit x", dtype=np.float16),
           "fit x must be finite; got nan")  # a NaN given is still named as such
    assert as_float_array([[65504.0]], "x", dtype=np.float16)[0, 0] == 65504.0


def test_check_in_range_refuses_only_what_the_cast_makes_infinite():
    check_in_range(np.array([65519.0]), np.float16, "y")  # rounds to 65504, finite
    check_in_range(np.array([1e300]), np.float64, "y")
    check_in_range(np.array([True]), np.float16, "y")
    raises(ValueError, lambda: check_in_range(np.array([0.0, 65520.0]), np.float16, "fit y"),
           "fit y holds 65520 (in magnitude), beyond the range of float16 (largest 65504)")
    raises(ValueError, lambda: check_in_range(np.array([1e39]), np.float32, "y"),
           "y holds 1e+39 (in magnitude), beyond the range of float32 (largest 3.40282e+38)")
    # np.abs of int64's minimum is itself: it was reported as "holds -9.22337e+18 (in magnitude)"
    raises(ValueError, lambda: check_in_range(np.array([np.iinfo(np.int64).min]), np.float16, "y"),
           "y holds 9.22337e+18 (in magnitude), beyond the range of float16")


def test_as_float_array_refuses_a_masked_array_with_masked_values():
    # np.asarray dropped the mask: the hidden 1e3 was trained on
    data = np.ma.array([[1.0, 2.0], [1e3, 4.0]], mask=[[False, False], [True, False]])
    raises(ValueError, lambda: as_float_array(data, "fit x", dtype=np.float32),
           "fit x is a masked array with 1 of its 4 values masked",
           "fill them first (.filled(value)) or drop them (.compressed() for 1-D data")


@pytest.mark.parametrize("mask", [np.ma.nomask, [False, False]], ids=["nomask", "all-false"])
def test_as_float_array_reads_a_masked_array_with_nothing_masked_as_its_data(mask):
    array = as_float_array(np.ma.array([1, 2], mask=mask), "x", dtype=np.float32)
    assert type(array) is np.ndarray and array.dtype == np.float32
    assert array.tolist() == [1.0, 2.0]


def test_check_verbose_takes_kerass_0_1_2_and_booleans_and_refuses_the_rest():
    taken = [check_verbose(value, "EarlyStopping verbose") for value in (0, 1, 2, False, True)]
    assert taken == [0, 1, 2, 0, 1]
    for bad in (3, -1, "1", None):
        message = f"EarlyStopping verbose must be 0 (silent), 1 or 2 (print what it does); got {bad!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            check_verbose(bad, "EarlyStopping verbose")
