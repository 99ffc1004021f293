"""Layer.load_state_arrays works for any layer that declares state_arrays (wave 2: one check, in Layer)."""

import numpy as np
import pytest

from minidl import BatchNorm, Layer


class Counter(Layer):
    """A user layer with one state array and no load_state_arrays of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = np.zeros(2)

    def forward(self, x):
        self.seen += x.sum(axis=0)
        return x

    def backward(self, grad_y):
        return grad_y

    def state_arrays(self):
        return {"seen": self.seen}


def test_a_user_layer_with_state_loads_it_back_in_place():
    layer = Counter()
    target = layer.seen
    layer.load_state_arrays({"seen": np.array([3.0, 4.0])})
    assert layer.seen is target
    assert layer.seen.tolist() == [3.0, 4.0]


def test_a_user_layer_refuses_wrong_keys_shapes_and_dtypes_naming_itself():
    layer = Counter()
    with pytest.raises(ValueError, match=r"Counter 'counter': expected state arrays \['seen'\]; got \['x'\]"):
        layer.load_state_arrays({"x": np.zeros(2)})
    with pytest.raises(ValueError, match=r"state array 'seen' must have shape \(2,\) and dtype float64; "
                                         r"got shape \(3,\) and dtype float64"):
        layer.load_state_arrays({"seen": np.zeros(3)})
    with pytest.raises(ValueError, match=r"got shape \(2,\) and dtype float32"):
        layer.load_state_arrays({"seen": np.zeros(2, dtype=np.float32)})
    assert layer.seen.tolist() == [0.0, 0.0]


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
