"""minidl.export.onnx: every layer's ONNX rule, run in onnxruntime against minidl's predictions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minidl.keras
from minidl import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Layer,
    LeakyReLU,
    MaxPool2D,
    Network,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minidl.export.onnx import DEFAULT_OPSET, RULES, to_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

BATCHES = (1, 7, 256)
# float64: onnxruntime's tanh and sigmoid differ from numpy's by ~1e-10 (relative)
TOLERANCE = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-9, "atol": 1e-12}}


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (output,) = session.run(["output"], {"input": x})
    return output


def ops(model: onnx.ModelProto) -> list[str]:
    return [node.op_type for node in model.graph.node]


def attributes(model: onnx.ModelProto, index: int = 0) -> dict[str, object]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in model.graph.node[index].attribute}


def input_dims(model: onnx.ModelProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]


def assert_matches(net: Network, model: onnx.ModelProto, sample_shape: tuple[int, ...], dtype=np.float32,
                   batches=BATCHES) -> None:
    """onnxruntime's output equals minidl's eval-mode prediction for each batch size."""
    for batch in batches:
        x = np.random.default_rng(batch).normal(size=(batch, *sample_shape)).astype(dtype)
        got, expected = run(model, x), net.predict(x)
        assert got.dtype == dtype  # a network without parameters predicts in float64
        np.testing.assert_allclose(got, expected, **TOLERANCE[dtype])


def trained_batchnorm(net: Network, sample_shape: tuple[int, ...], steps: int = 5) -> None:
    """Training-mode forwards so that BatchNorm's running statistics are not their defaults."""
    rng = np.random.default_rng(42)
    for _ in range(steps):
        net.forward(rng.normal(3.0, 2.0, size=(32, *sample_shape)))
    for layer in net.layers:
        if isinstance(layer, BatchNorm):
            assert not np.allclose(layer.running_mean, 0.0) and not np.allclose(layer.running_var, 1.0)


# -- one rule at a time ---------------------------------------------------------------------------
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_is_a_gemm_on_the_in_out_weight(use_bias: bool) -> None:
    net = Network([Dense(5, 3, use_bias=use_bias, bias_init="ones", seed=0, dtype=np.float32)])
    model = to_onnx(net, None)
    assert ops(model) == ["Gemm"] and attributes(model).get("transB", 0) == 0
    weight = onnx.numpy_helper.to_array(model.graph.initializer[0])
    assert weight.shape == (5, 3) and np.array_equal(weight, net.layers[0].weight.value)
    assert len(model.graph.node[0].input) == 2 + use_bias
    assert input_dims(model) == ["batch", 5]
    assert_matches(net, model, (5,))


@pytest.mark.parametrize(("layer", "op_type", "expected"), [
    (ReLU(), "Relu", {}), (LeakyReLU(0.2), "LeakyRelu", {"alpha": 0.2}),
    (LeakyReLU(1.5), "LeakyRelu", {"alpha": 1.5}), (Sigmoid(), "Sigmoid", {}), (Tanh(), "Tanh", {}),
    (Identity(), "Identity", {}), (Softmax(), "Softmax", {"axis": -1}), (Flatten(), "Flatten", {"axis": 1}),
])
def test_element_wise_layers(layer: Layer, op_type: str, expected: dict[str, object]) -> None:
    net = Network([layer])
    model = to_onnx(net, None, input_shape=6, dtype=np.float32)
    assert ops(model) == [op_type]
    got = attributes(model)
    assert got.keys() == expected.keys() and all(got[k] == pytest.approx(v) for k, v in expected.items())
    assert_matches(net, model, (6,))


def test_softmax_and_flatten_on_images() -> None:
    for net, op_type in [(Network([Softmax()]), "Softmax"), (Network([Flatten()]), "Flatten")]:
        model = to_onnx(net, None, input_shape=(2, 3, 4), dtype=np.float32)
        assert ops(model) == [op_type]
        assert_matches(net, model, (2, 3, 4))


def test_dropout_is_left_out_in_inference() -> None:
    net = Network([Dense(4, 6, seed=0), Dropout(0.5, seed=1), ReLU(), Dropout(0.2)]).astype(np.float32)
    assert net.training  # the model is evaluation mode whatever the network's mode
    model = to_onnx(net, None)
    assert ops(model) == ["Gemm", "Relu"]
    assert_matches(net, model, (4,))
    only_dropout = to_onnx(Network([Dropout(0.5)]), None, input_shape=3, dtype=np.float32)
    assert ops(only_dropout) == ["Identity"]
    x = np.ones((2, 3), np.float32)
    assert np.array_equal(run(only_dropout, x), x)


@pytest.mark.parametrize("sample_shape", [(4,), (3, 5, 6)])
def test_batchnorm_uses_the_trained_running_statistics(sample_shape: tuple[int, ...]) -> None:
    features = sample_shape[0]
    net = Network([BatchNorm(features, epsilon=1e-3, momentum=0.5)])
    trained_batchnorm(net, sample_shape)
    net.layers[0].gamma.value[:] = np.linspace(0.5, 2.0, features)
    net.layers[0].beta.value[:] = np.linspace(-1.0, 1.0, features)
    net.astype(np.float32)
    model = to_onnx(net, None, input_shape=sample_shape)
    assert ops(model) == ["BatchNormalization"]
    assert attributes(model)["epsilon"] == pytest.approx(1e-3)
    stored = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    assert np.array_equal(stored["batchnorm.running_var"], net.layers[0].running_var)
    assert_matches(net, model, sample_shape)


@pytest.mark.parametrize(("kernel", "stride", "padding", "pads"), [
    (3, 1, 0, [0, 0, 0, 0]), (3, 2, 1, [1, 1, 1, 1]), (3, (2, 1), (1, 2), [1, 2, 1, 2]),
    (3, 1, "same", [1, 1, 1, 1]), (2, 1, "same", [0, 0, 1, 1]), ((2, 4), 1, "same", [0, 1, 1, 2]),
    ((4, 3), 1, "valid", [0, 0, 0, 0]),
])
def test_conv2d_pads_top_left_bottom_right(kernel, stride, padding, pads: list[int]) -> None:
    net = Network([Conv2D(2, 3, kernel, stride=stride, padding=padding, bias_init="ones", seed=0,
                          dtype=np.float32)])
    model = to_onnx(net, None, input_shape=(2, 9, 8))
    assert ops(model) == ["Conv"]
    got = attributes(model)
    assert got["pads"] == pads and got["strides"] == list(net.layers[0].stride)
    assert got["kernel_shape"] == list(net.layers[0].kernel_size)
    assert_matches(net, model, (2, 9, 8))


def test_conv2d_without_bias() -> None:
    net = Network([Conv2D(1, 2, 3, use_bias=False, seed=0, dtype=np.float32)])
    model = to_onnx(net, None, input_shape=(1, 5, 5))
    assert len(model.graph.node[0].input) == 2
    assert_matches(net, model, (1, 5, 5))


@pytest.mark.parametrize(("layer", "op_type"), [
    (MaxPool2D(2), "MaxPool"), (MaxPool2D(3, 2), "MaxPool"), (MaxPool2D((2, 3), (1, 2)), "MaxPool"),
    (AvgPool2D(2), "AveragePool"), (AvgPool2D(3, 2), "AveragePool"), (AvgPool2D((3, 2), 1), "AveragePool"),
])
def test_pools(layer: Layer, op_type: str) -> None:
    net = Network([layer])
    model = to_onnx(net, None, input_shape=(2, 7, 9), dtype=np.float32)  # 7, 9: rows and columns left over
    assert ops(model) == [op_type]
    got = attributes(model)
    assert got["kernel_shape"] == list(layer.pool_size) and got["strides"] == list(layer.stride)
    assert "pads" not in got
    assert_matches(net, model, (2, 7, 9))


def test_layers_named_input_and_output() -> None:
    net = Network([Dense(3, 4, name="output"), ReLU(name="input"), Dense(4, 2, name="dense.weight")])
    model = to_onnx(net.astype(np.float32), None)
    assert [node.output[0] for node in model.graph.node] == ["output.output", "input.output", "output"]
    assert_matches(net, model, (3,))


def test_every_rule_is_tested_here() -> None:
    assert {kind.__name__ for kind in RULES} == {
        "Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten", "BatchNorm", "ReLU", "LeakyReLU",
        "Sigmoid", "Tanh", "Identity", "Softmax", "Dropout"}


# -- whole networks -------------------------------------------------------------------------------
def mlp(dtype=np.float32) -> Network:
    net = Network([Dense(10, 32, seed=0), BatchNorm(32), ReLU(), Dropout(0.3, seed=1), Dense(32, 16, seed=2),
                   Tanh(), Dense(16, 8, seed=3), LeakyReLU(0.1), Dense(8, 4, seed=4), Sigmoid(),
                   Dense(4, 3, seed=5), Softmax()])
    trained_batchnorm(net, (10,))
    return net.astype(dtype)


def cnn(dtype=np.float32) -> Network:
    net = Network([Conv2D(1, 4, 2, padding="same", seed=0), BatchNorm(4), ReLU(), MaxPool2D(2),
                   Conv2D(4, 6, 3, stride=2, padding=1, seed=1), ReLU(), AvgPool2D(2, 1), Flatten(),
                   Dense(24, 10, seed=2), Dropout(0.25, seed=3), ReLU(), Dense(10, 5, seed=4), Softmax()])
    trained_batchnorm(net, (1, 12, 12))
    return net.astype(dtype)


def test_mlp_float32(tmp_path: Path) -> None:
    net = mlp()
    model = to_onnx(net, tmp_path / "mlp.onnx")
    assert ops(model) == ["Gemm", "BatchNormalization", "Relu", "Gemm", "Tanh", "Gemm", "LeakyRelu", "Gemm",
                          "Sigmoid", "Gemm", "Softmax"]
    saved = onnx.load(tmp_path / "mlp.onnx")
    onnx.checker.check_model(saved, full_check=True)
    assert saved == model
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert_matches(net, saved, (10,))


def test_cnn_float32(tmp_path: Path) -> None:
    net = cnn()
    model = to_onnx(net, str(tmp_path / "cnn.onnx"))  # the last forward fixed 1 x 12 x 12
    assert input_dims(model) == ["batch", 1, 12, 12]
    output_dims = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert output_dims == ["batch", 5]
    saved = onnx.load(tmp_path / "cnn.onnx")
    onnx.checker.check_model(saved, full_check=True)
    assert_matches(net, saved, (1, 12, 12))


def test_mlp_float64_runs_in_onnxruntime() -> None:
    net = mlp(np.float64)
    model = to_onnx(net, None)
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert_matches(net, model, (10,), dtype=np.float64)


def test_float64_cnn_warns_and_exports_as_float32_on_request() -> None:
    net = cnn(np.float64)
    warning = (r"no float64 Conv or AveragePool "
               r"\(for Conv2D 'conv2d', Conv2D 'conv2d_1', AvgPool2D 'avgpool2d'\).*pass dtype=np.float32")
    with pytest.warns(UserWarning, match=warning):
        model = to_onnx(net, None)
    onnx.checker.check_model(model, full_check=True)  # valid ONNX, which onnxruntime's CPU build cannot run
    as_float32 = to_onnx(net, None, dtype=np.float32)
    x = np.random.default_rng(0).normal(size=(7, 1, 12, 12))
    np.testing.assert_allclose(run(as_float32, x.astype(np.float32)), net.predict(x), rtol=1e-4, atol=1e-6)


# -- the input's shape ----------------------------------------------------------------------------
def test_conv_first_without_a_forward_has_symbolic_height_and_width() -> None:
    net = Network([Conv2D(3, 2, 3, padding=1, seed=0, dtype=np.float32), ReLU(), MaxPool2D(2)])
    model = to_onnx(net, None)
    assert input_dims(model) == ["batch", 3, "height", "width"]
    for size in (4, 10):
        assert_matches(net, model, (3, size, size + 2), batches=(1, 7))


def test_input_shape_argument_fixes_the_sizes() -> None:
    net = Network([Conv2D(1, 2, 3, seed=0), Flatten(), Dense(2 * 4 * 4, 3, seed=1)]).astype(np.float32)
    model = to_onnx(net, None, input_shape=(1, 6, 6))
    assert input_dims(model) == ["batch", 1, 6, 6]
    assert_matches(net, model, (1, 6, 6))


def test_input_shape_the_layers_do_not_take_is_refused() -> None:
    net = Network([Conv2D(1, 2, 3, seed=0), Flatten(), Dense(32, 3, seed=1)]).astype(np.float32)
    with pytest.raises(ValueError, match=r"^to_onnx: an input of shape \(None, 18\) does not fit: Dense"):
        to_onnx(net, None, input_shape=(1, 5, 5))
    with pytest.raises(ValueError, match=r"to_onnx: .*Conv2D 'conv2d'"):
        to_onnx(net, None, input_shape=(3, 6, 6))  # 3 channels into a 1-channel convolution
    with pytest.raises(ValueError, match="input_shape"):
        to_onnx(net, None, input_shape=(1, 0, 6))
    message = r"to_onnx input_shape \(one sample's, without the batch axis\) must be an int or a tuple"
    with pytest.raises(TypeError, match=message + r" of ints; got 3\.0"):
        to_onnx(net, None, input_shape=3.0)  # type: ignore[arg-type]


def test_an_unknown_input_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ReLU 'relu' declares none.*pass input_shape"):
        to_onnx(Network([ReLU(), Dense(3, 1)]), None)
    message = (r"an input of shape \(None, 2\) does not fit: Conv2D 'conv2d'.* \(the shape BatchNorm "
               r"'batchnorm' declares; pass input_shape, one sample's shape")
    with pytest.raises(ValueError, match=message):
        to_onnx(Network([BatchNorm(2), Conv2D(2, 2, 1)]), None)


# -- refusals -------------------------------------------------------------------------------------
class Square(Layer):
    def forward(self, x):
        self._x = x
        return x * x

    def backward(self, grad_y):
        return 2 * self._x * grad_y


class MyReLU(ReLU):
    def function(self, x):
        return np.maximum(x, 1.0)


@pytest.mark.parametrize("layer", [Square(), MyReLU()])
def test_a_layer_without_a_rule_is_refused_by_name(layer: Layer) -> None:
    net = Network([Dense(3, 3), layer])
    with pytest.raises(TypeError) as caught:
        to_onnx(net, None)
    message = str(caught.value)
    assert f"layer 1, {type(layer).__name__} {layer.name!r}, has no ONNX rule" in message
    assert "supported types: AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Identity, " in message


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    net = Network([Dense(2, 2)])
    with pytest.raises(TypeError, match="expects a minidl Network; got list"):
        to_onnx([Dense(2, 2)], None)  # type: ignore[arg-type]
    model = minidl.keras.Sequential([minidl.keras.layers.Dense(2, input_shape=(3,))])
    with pytest.raises(TypeError, match=r"got Sequential; for a Keras-style model, pass model\.network"):
        to_onnx(model, None)  # type: ignore[arg-type]
    for opset in (12, 10_000, 17.0, True):
        with pytest.raises(ValueError, match="opset must be an int from 13 to"):
            to_onnx(net, None, opset=opset)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dtype must be float32 or float64; got float16"):
        to_onnx(net, None, dtype=np.float16)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("opset", [13, DEFAULT_OPSET, 21])
def test_opsets(opset: int) -> None:
    model = to_onnx(cnn(), None, opset=np.int64(opset))  # a numpy integer is an int as well
    assert [(o.domain, o.version) for o in model.opset_import] == [("", opset)]
    assert model.ir_version == onnx.helper.find_min_ir_version_for(list(model.opset_import))
    assert model.producer_name == "minidl"
    assert_matches(cnn(), model, (1, 12, 12), batches=(7,))


def test_without_onnx_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    wanted = r"pip install onnx onnxruntime .*pip install -e \"\.\[onnx\]\""
    with pytest.raises(ModuleNotFoundError, match=wanted):
        to_onnx(Network([Dense(2, 2)]), None)


def test_importing_minidl_does_not_import_onnx() -> None:
    code = ("import sys, minidl, minidl.export, minidl.export.onnx; "
            "print(sorted(m for m in ('onnx', 'onnxruntime') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
