"""minidl.export.save_safetensors / load_safetensors: PyTorch's keys and layouts, written with numpy alone."""

import subprocess
import sys

import numpy as np
import pytest

import minidl
from minidl import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    MeanSquaredError,
    Network,
    ReLU,
    Softmax,
)
from minidl.export import load_safetensors, save_safetensors

safetensors_numpy = pytest.importorskip("safetensors.numpy")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")


def cnn(dtype=np.float64, seed=0):
    return Network([Conv2D(2, 3, 4, padding="same", seed=seed, dtype=dtype), BatchNorm(3, dtype=dtype),
                    ReLU(), MaxPool2D(2), AvgPool2D(2), Flatten(), Dense(18, 3, seed=seed + 1, dtype=dtype),
                    Softmax()])


def trained(network):
    x = np.random.default_rng(0).normal(size=(16, 2, 8, 12)).astype(network.dtype)
    network.compile(minidl.SGD(0.05), MeanSquaredError())
    network.fit(x, np.eye(3)[np.arange(16) % 3], epochs=2, batch_size=8, verbose=0, seed=0)
    return network.eval(), x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_file_loads_strictly_into_the_exported_torch_module(tmp_path, dtype):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    from minidl.export import to_torch

    net, x = trained(cnn(dtype))
    save_safetensors(net, tmp_path / "model.safetensors")
    loaded = safetensors.torch.load_file(tmp_path / "model.safetensors")
    expected = to_torch(net).state_dict()
    assert set(loaded) == set(expected)
    for key, tensor in expected.items():
        assert loaded[key].dtype == tensor.dtype and loaded[key].shape == tensor.shape, key
        assert torch.equal(loaded[key], tensor), key
    fresh = to_torch(cnn(dtype, seed=5)).eval()  # other weights: all come from the file
    fresh.load_state_dict(loaded, strict=True)
    with torch.no_grad():
        out = fresh(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.predict(x), out, rtol=1e-12 if dtype == np.float64 else 1e-5, atol=1e-7)


def test_a_file_torch_wrote_fills_a_minidl_network(tmp_path):
    torch = pytest.importorskip("torch")
    import safetensors.torch

    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2, bias=False)).double()
    x = torch.randn(8, 3, dtype=torch.float64)
    model(x)  # running statistics away from their defaults
    model.eval()
    safetensors.torch.save_file(model.state_dict(), tmp_path / "torch.safetensors")
    net = Network([Dense(3, 4), BatchNorm(4), minidl.Tanh(), Dense(4, 2, use_bias=False)])
    load_safetensors(net, tmp_path / "torch.safetensors")
    with torch.no_grad():
        np.testing.assert_allclose(net.predict(x.numpy()), model(x).numpy(), rtol=1e-12)


def test_save_then_load_restores_every_array(tmp_path):
    net, x = trained(cnn())
    save_safetensors(net, tmp_path / "m.safetensors")
    other = cnn(seed=7).eval()
    load_safetensors(other, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    np.testing.assert_array_equal(other[1].running_var, net[1].running_var)


def test_the_layouts_are_pytorchs(tmp_path):
    net = Network([Dense(3, 2, seed=0), BatchNorm(2), Conv2D(1, 4, (2, 3), use_bias=False)])
    save_safetensors(net, tmp_path / "m.safetensors")
    arrays = safetensors_numpy.load_file(tmp_path / "m.safetensors")
    assert {key: a.shape for key, a in arrays.items()} == {
        "0.weight": (2, 3), "0.bias": (2,), "1.weight": (2,), "1.bias": (2,), "1.running_mean": (2,),
        "1.running_var": (2,), "1.num_batches_tracked": (), "2.weight": (4, 1, 2, 3)}
    np.testing.assert_array_equal(arrays["0.weight"], net[0].weight.value.T)
    assert arrays["1.num_batches_tracked"].dtype == np.int64


@pytest.mark.parametrize(("change", "message"), [
    (lambda a: a.pop("1.running_var"), r"missing key '1.running_var'"),
    (lambda a: a.update(extra=np.zeros(1)), r"unexpected key 'extra'"),
    (lambda a: a.update({"0.weight": np.zeros((3, 2))}), r"key '0.weight' must have shape \(2, 3\) and dtype "
                                                         r"float64; got shape \(3, 2\)"),
    (lambda a: a.update({"0.bias": np.zeros(2, np.float32)}),
     r"key '0.bias' .* got shape \(2,\) and dtype float32"),
    (lambda a: a.update({"1.running_var": -np.ones(2)}),
     r"load_safetensors '.*wrong.safetensors': BatchNorm 'batchnorm': state array 'running_var' has neg"),
    (lambda a: a["0.weight"].__setitem__((1, 2), np.nan),
     r"key '0.weight' must be finite; got nan at index \(1, 2\)"),
    (lambda a: a.update({"1.running_var": np.array([1.0, np.inf])}), r"key '1.running_var' must be finite"),
])
def test_load_refuses_a_wrong_file_naming_the_key(tmp_path, change, message):
    net = Network([Dense(3, 2, seed=0), BatchNorm(2)])
    save_safetensors(net, tmp_path / "m.safetensors")
    arrays = safetensors_numpy.load_file(tmp_path / "m.safetensors")
    change(arrays)
    safetensors_numpy.save_file(arrays, tmp_path / "wrong.safetensors")
    before = net[0].weight.value.copy()
    with pytest.raises(ValueError, match=message):
        load_safetensors(net, tmp_path / "wrong.safetensors")
    np.testing.assert_array_equal(net[0].weight.value, before)  # checked before anything is written


def test_save_and_load_refuse_anything_but_a_network(tmp_path):
    with pytest.raises(TypeError, match="save_safetensors expects a minidl Network; got list"):
        save_safetensors([Dense(3, 2)], tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="load_safetensors expects a minidl Network; got list"):
        load_safetensors([Dense(3, 2)], tmp_path / "m.safetensors")


def test_save_refuses_non_finite_weights_as_load_would(tmp_path):
    network = Network([Dense(3, 2, seed=0)])
    network[0].weight.value[1, 0] = np.nan  # a diverged fit: the file could not be loaded back
    with pytest.raises(ValueError, match=r"save_safetensors: key '0.weight' must be finite; got nan"):
        save_safetensors(network, tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_save_refuses_a_layer_without_a_rule(tmp_path):
    class Double(minidl.Layer):
        def forward(self, x):
            return 2.0 * x

        def backward(self, grad_y):
            return 2.0 * grad_y

    with pytest.raises(TypeError, match=r"save_safetensors: layer 1 \(Double 'double'\) has no PyTorch rule"):
        save_safetensors(Network([Dense(2, 2), Double()]), tmp_path / "m.safetensors")


def test_safetensors_files_need_no_torch(tmp_path):
    path = str(tmp_path / "m.st")
    code = ("import sys; sys.modules['torch'] = None; import numpy as np, minidl, minidl.export as e; "
            "net = minidl.Network([minidl.Dense(2, 3, seed=0), minidl.BatchNorm(3)]); "
            f"e.save_safetensors(net, {path!r}); e.load_safetensors(net, {path!r}); "
            "print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_without_safetensors_the_error_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    message = r'save_safetensors needs safetensors.*pip install -e "\.\[safetensors\]"'
    with pytest.raises(ModuleNotFoundError, match=message):
        save_safetensors(Network([Dense(2, 2)]), tmp_path / "m.safetensors")


class Counting(minidl.Layer):
    """A user's layer with a parameter and a state array: y = scale * x, counting the samples seen."""

    def __init__(self):
        super().__init__()
        self.scale = minidl.Parameter(np.ones(2), name="scale")
        self.seen = np.zeros(1)

    def forward(self, x):
        self.seen += len(x)
        return x * self.scale.value

    def backward(self, grad_y):
        return grad_y * self.scale.value

    def state_arrays(self):
        return {"seen": self.seen}


def test_a_user_rule_without_its_own_loader_restores_parameters_and_state_arrays(tmp_path):
    from minidl.export import register_torch_rule, unregister_torch_rule

    register_torch_rule(Counting, lambda layer, rank: None)  # to_module is not called for a file
    try:
        net = Network([Dense(2, 2, seed=0), Counting()])
        net[1].scale.value[...] = [2.0, -3.0]
        net.predict(np.ones((5, 2)))
        save_safetensors(net, tmp_path / "m.safetensors")
        other = Network([Dense(2, 2, seed=1), Counting()])
        load_safetensors(other, tmp_path / "m.safetensors")
    finally:
        unregister_torch_rule(Counting)
    np.testing.assert_array_equal(other[1].scale.value, [2.0, -3.0])
    np.testing.assert_array_equal(other[1].seen, [5.0])
    np.testing.assert_array_equal(other[0].weight.value, net[0].weight.value)
