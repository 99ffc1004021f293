"""minidl._validation: the checks run where data and arguments enter."""

import re

import numpy as np
import pytest

from minidl._validation import (
    as_batch,
    check_bool,
    check_count,
    check_float_dtype,
    check_int_pair,
    check_positive_int,
    check_verbose,
)


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


def test_check_verbose_takes_kerass_0_1_2_and_booleans_and_refuses_the_rest():
    taken = [check_verbose(value, "EarlyStopping verbose") for value in (0, 1, 2, False, True)]
    assert taken == [0, 1, 2, 0, 1]
    for bad in (3, -1, "1", None):
        message = f"EarlyStopping verbose must be 0 (silent), 1 or 2 (print what it does); got {bad!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            check_verbose(bad, "EarlyStopping verbose")
