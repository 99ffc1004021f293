"""minidl.export.to_torch / from_torch: every mapping both ways, equal predictions, one equal training step.

Expected values come from PyTorch running the exported (or hand-built) modules, never from minidl.
"""

import subprocess
import sys

import numpy as np
import pytest

import minidl
import minidl.keras
from minidl import (
    AvgPool2D,
    BatchNorm,
    CategoricalCrossEntropy,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Layer,
    LeakyReLU,
    MaxPool2D,
    MeanSquaredError,
    Network,
    Parameter,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from minidl.export import from_torch, register_torch_rule, to_torch, torch_state_dict, unregister_torch_rule

torch = pytest.importorskip("torch")
nn = torch.nn
# PyTorch's note on speed for an even kernel with padding="same"
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")

RTOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = [np.float64, np.float32]


def mlp(dtype=np.float64):
    return Network([Dense(4, 6, seed=0, dtype=dtype), BatchNorm(6, momentum=0.8, epsilon=1e-3, dtype=dtype),
                    LeakyReLU(0.2), Dropout(0.3, seed=0), Dense(6, 5, seed=1, dtype=dtype), Tanh(),
                    Dense(5, 5, use_bias=False, seed=2, dtype=dtype), Sigmoid(), Identity(), ReLU(),
                    Dense(5, 3, seed=3, dtype=dtype), Softmax()])


def cnn(dtype=np.float64):
    return Network([Conv2D(2, 3, 4, padding="same", seed=0, dtype=dtype), BatchNorm(3, dtype=dtype), ReLU(),
                    MaxPool2D(2), Conv2D(3, 4, 3, stride=2, padding=1, seed=1, dtype=dtype),
                    AvgPool2D(2, stride=1), Flatten(), Dense(4, 3, seed=2, dtype=dtype), Softmax()])


def data(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def trained(network, x, classes=3):
    """A few minidl training steps, so BatchNorm's running statistics are far from their defaults."""
    y = np.eye(classes)[np.arange(len(x)) % classes].astype(x.dtype)
    network.compile(minidl.SGD(0.05), MeanSquaredError())
    network.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=0)
    return network


def run(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


# -- the lazy imports -------------------------------------------------------------------------------
def test_import_minidl_and_minidl_export_never_import_torch_or_safetensors():
    code = ("import sys, minidl, minidl.export; "
            "print(sorted(m for m in ('torch', 'safetensors') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_to_torch_without_torch_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ModuleNotFoundError, match=r"to_torch needs PyTorch.*pytorch.org"):
        to_torch(mlp())
    with pytest.raises(ModuleNotFoundError, match=r"from_torch needs PyTorch"):
        from_torch(None)


# -- to_torch: each layer ---------------------------------------------------------------------------
def test_dense_becomes_linear_with_the_weight_transposed():
    layer = Dense(3, 2, seed=0)
    linear = to_torch(Network([layer]))[0]
    assert type(linear) is nn.Linear and (linear.in_features, linear.out_features) == (3, 2)
    np.testing.assert_array_equal(linear.weight.detach().numpy(), layer.weight.value.T)
    np.testing.assert_array_equal(linear.bias.detach().numpy(), layer.bias.value)
    assert to_torch(Network([Dense(3, 2, use_bias=False)]))[0].bias is None


@pytest.mark.parametrize(("layer", "expected"), [
    (ReLU(), nn.ReLU()), (Sigmoid(), nn.Sigmoid()), (Tanh(), nn.Tanh()), (Identity(), nn.Identity()),
    (LeakyReLU(0.3), nn.LeakyReLU(0.3)), (Softmax(), nn.Softmax(dim=-1)), (Dropout(0.25), nn.Dropout(0.25)),
    (Flatten(), nn.Flatten()), (MaxPool2D(2, stride=1), nn.MaxPool2d((2, 2), (1, 1))),
    (AvgPool2D((2, 3)), nn.AvgPool2d((2, 3), (2, 3))),
])
def test_layers_without_parameters_become_their_module(layer, expected):
    module = to_torch(Network([layer]))[0]
    assert type(module) is type(expected)
    assert module.extra_repr() == expected.extra_repr()


@pytest.mark.parametrize(("padding", "kernel", "stride"), [
    (0, 3, 1), (1, 3, 2), ((2, 1), (3, 2), (1, 2)), ("valid", 2, 1), ("same", 3, 1), ("same", 4, 1),
    ("same", (2, 5), 1),
])
def test_conv2d_becomes_conv2d_and_computes_the_same(padding, kernel, stride):
    layer = Conv2D(2, 3, kernel, stride=stride, padding=padding, seed=0)
    conv = to_torch(Network([layer]))[0]
    assert type(conv) is nn.Conv2d and conv.padding == ("same" if padding == "same" else conv.padding)
    np.testing.assert_array_equal(conv.weight.detach().numpy(), layer.weight.value)
    x = data((2, 2, 7, 6))
    expected = run(conv, x)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-14)


def test_batchnorm_maps_momentum_as_one_minus_and_copies_the_running_statistics():
    net = trained(Network([Dense(4, 3, seed=0), BatchNorm(3, momentum=0.8, epsilon=1e-3)]), data((16, 4)))
    bn, module = net[1], to_torch(net)[1]
    assert type(module) is nn.BatchNorm1d
    assert module.momentum == pytest.approx(0.2) and module.eps == 1e-3
    assert not np.allclose(bn.running_mean, 0.0)  # trained: not the defaults
    np.testing.assert_array_equal(module.running_mean.numpy(), bn.running_mean)
    np.testing.assert_array_equal(module.running_var.numpy(), bn.running_var)
    np.testing.assert_array_equal(module.weight.detach().numpy(), bn.gamma.value)
    assert module.num_batches_tracked.item() == 0


@pytest.mark.parametrize(("layers", "index", "expected"), [
    ([Dense(2, 3), BatchNorm(3)], 1, nn.BatchNorm1d),
    ([BatchNorm(2), Dense(2, 3)], 0, nn.BatchNorm1d),
    ([BatchNorm(2), ReLU(), Conv2D(2, 3, 1)], 0, nn.BatchNorm2d),
    ([Conv2D(1, 2, 1), ReLU(), BatchNorm(2)], 2, nn.BatchNorm2d),
    ([MaxPool2D(2), BatchNorm(2), Flatten()], 1, nn.BatchNorm2d),
    ([BatchNorm(2), Flatten()], 0, nn.BatchNorm2d),
    ([Conv2D(1, 2, 1), Flatten(), BatchNorm(8)], 2, nn.BatchNorm1d),
    ([BatchNorm(2)], 0, nn.BatchNorm1d),
])
def test_batchnorm_is_1d_or_2d_by_the_rank_of_its_input(layers, index, expected):
    assert type(to_torch(Network(layers))[index]) is expected


def test_batchnorm_alone_is_2d_after_a_forward_on_images():
    net = Network([BatchNorm(2)])
    net.forward(data((3, 2, 2, 2)))
    assert type(to_torch(net)[0]) is nn.BatchNorm2d


# -- to_torch: whole networks -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("build", "shape"), [(mlp, (20, 4)), (cnn, (20, 2, 8, 8))])
def test_exported_network_in_eval_mode_predicts_what_minidl_predicts(build, shape, dtype):
    x = data(shape, dtype)
    net = trained(build(dtype), x).eval()
    model = to_torch(net)
    assert next(model.parameters()).dtype == {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    assert not model.training and not any(m.training for m in model)
    np.testing.assert_allclose(net.predict(x), run(model, x), rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)


def test_each_module_takes_its_layers_mode():
    net = mlp()
    assert to_torch(net).training and all(m.training for m in to_torch(net))
    net[1].eval()
    model = to_torch(net)
    assert [m.training for m in model] == [layer.training for layer in net]
    assert not model[1].training


def test_exported_module_is_a_copy():
    net = Network([Dense(2, 2, seed=0)])
    model = to_torch(net)
    with torch.no_grad():
        model[0].weight.fill_(7.0)
    assert not np.any(net[0].weight.value == 7.0)


def _torch_step(model, x, target, loss_fn, lr):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss = loss_fn(model(torch.from_numpy(x)), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _assert_same_parameters(net, model):
    mine = torch_state_dict(net.layers)
    for key, parameter in model.named_parameters():
        np.testing.assert_allclose(mine[key], parameter.detach().numpy(), rtol=1e-12, atol=1e-15, err_msg=key)
    for key, buffer in model.named_buffers():
        if key.endswith("running_mean"):
            np.testing.assert_allclose(mine[key], buffer.numpy(), rtol=1e-12, atol=1e-15, err_msg=key)


@pytest.mark.parametrize(("build", "shape"), [(mlp, (12, 4)), (cnn, (12, 2, 8, 8))])
def test_one_mse_step_in_torch_equals_minidls_next_step(build, shape):
    x = data(shape)
    net = trained(build(), x)
    for layer in net:
        if isinstance(layer, Dropout):
            layer.rate = 0.0  # the masks are random on both sides
    y = data((len(x), 3), seed=1)
    model = to_torch(net)
    expected_loss = _torch_step(model, x, torch.from_numpy(y), nn.MSELoss(), 0.1)
    net.compile(minidl.SGD(0.1), MeanSquaredError())
    assert net.train_step(x, y) == pytest.approx(expected_loss, rel=1e-12)
    _assert_same_parameters(net, model)


def test_one_cross_entropy_step_on_the_logits_equals_minidls_step_through_softmax():
    x = data((12, 2, 8, 8))
    net = trained(cnn(), x)
    labels = np.arange(12) % 3
    logits = to_torch(net)[:-1]  # CrossEntropyLoss wants logits: drop the Softmax
    assert not any(isinstance(m, nn.Softmax) for m in logits)
    expected_loss = _torch_step(logits, x, torch.from_numpy(labels), nn.CrossEntropyLoss(), 0.2)
    net.compile(minidl.SGD(0.2), CategoricalCrossEntropy())
    assert net.train_step(x, np.eye(3)[labels]) == pytest.approx(expected_loss, rel=1e-12)
    _assert_same_parameters(net, logits)


def test_torch_moves_running_var_towards_the_unbiased_variance():
    x = data((8, 3))
    net = Network([BatchNorm(3)])
    model = to_torch(net)
    model(torch.from_numpy(x))
    net.forward(x)
    np.testing.assert_allclose(model[0].running_var.numpy(), 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(net[0].running_var, 0.9 + 0.1 * x.var(axis=0), rtol=1e-12)


# -- from_torch ---------------------------------------------------------------------------------------
def torch_mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6, eps=1e-3, momentum=0.3), nn.LeakyReLU(0.1),
                         nn.Dropout(0.2), nn.Linear(6, 5, bias=False), nn.Tanh(), nn.Sigmoid(), nn.Identity(),
                         nn.ReLU(), nn.Linear(5, 3), nn.Softmax(dim=1))


def torch_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding="same"), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0), bias=False),
                         nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(4, 3), nn.Softmax(dim=-1))


def _train_batchnorm_stats(model, x):
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.from_numpy(x))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("build", "shape"), [(torch_mlp, (10, 4)), (torch_cnn, (10, 2, 8, 6))])
def test_from_torch_predicts_what_the_module_predicts(build, shape, dtype):
    x = data(shape, dtype)
    model = build().to({np.float64: torch.float64, np.float32: torch.float32}[dtype])
    _train_batchnorm_stats(model, x)
    model.eval()
    net = from_torch(model)
    assert net.dtype == dtype and not net.training
    assert [type(layer).__name__ for layer in net][:3] in (["Dense", "BatchNorm", "LeakyReLU"],
                                                            ["Conv2D", "BatchNorm", "ReLU"])
    np.testing.assert_allclose(net.predict(x), run(model, x), rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)


def test_from_torch_reads_each_setting():
    net = from_torch(torch_mlp())
    assert net.training
    assert net[1].momentum == pytest.approx(0.7) and net[1].epsilon == 1e-3
    assert net[2].alpha == 0.1 and net[3].rate == 0.2 and not net[4].use_bias
    cnn_net = from_torch(torch_cnn())
    assert cnn_net[0].padding == "same" and cnn_net[4].stride == (2, 1)
    assert cnn_net[4].pads == ((1, 1), (0, 0))
    assert (cnn_net[5].pool_size, cnn_net[5].stride) == ((2, 2), (1, 1))


@pytest.mark.parametrize(("modules", "shape"), [([nn.Softmax(dim=1), nn.Linear(3, 2)], (4, 3)),
                                               ([nn.Conv2d(3, 2, 1), nn.Softmax(dim=3)], (4, 3, 2, 5))])
def test_from_torch_takes_a_softmax_over_the_last_axis_the_later_modules_tell(modules, shape):
    model = nn.Sequential(*modules).double()
    x = data(shape)
    np.testing.assert_allclose(from_torch(model).predict(x), run(model, x), rtol=1e-12)


def test_round_trip_keeps_every_layers_config_and_arrays():
    net = trained(cnn(), data((16, 2, 8, 8)))
    again = from_torch(to_torch(net))
    assert [layer.config() | {"name": None} for layer in again] == [layer.config() | {"name": None}
                                                                       for layer in net]
    for key, array in torch_state_dict(net.layers).items():
        np.testing.assert_array_equal(torch_state_dict(again.layers)[key], array)


# -- refusals -----------------------------------------------------------------------------------------
def test_from_torch_refuses_what_is_not_a_sequential():
    with pytest.raises(TypeError, match=r"expects a torch\.nn\.Sequential; got Linear"):
        from_torch(nn.Linear(2, 2))


@pytest.mark.parametrize(("module", "message"), [
    (nn.GELU(), r"module 1 \(GELU\) has no minidl equivalent; supported: AvgPool2d, BatchNorm1d, .*Tanh"),
    (nn.Sequential(nn.ReLU()), r"module 1 \(Sequential\) has no minidl equivalent \(a nested Sequential"),
])
def test_from_torch_refuses_unknown_modules_naming_them(module, message):
    with pytest.raises(TypeError, match=message):
        from_torch(nn.Sequential(nn.Linear(2, 2), module))


@pytest.mark.parametrize(("modules", "message"), [
    ([nn.Conv2d(1, 1, 3, dilation=2)], r"module 0 \(Conv2d\): dilation=\(2, 2\) has no minidl equivalent"),
    ([nn.Conv2d(2, 2, 3, groups=2)], r"module 0 \(Conv2d\): groups=2"),
    ([nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")], r"padding_mode='reflect'"),
    ([nn.Linear(2, 2), nn.BatchNorm1d(2, affine=False)], r"module 1 \(BatchNorm1d\): affine=False"),
    ([nn.BatchNorm1d(2, momentum=None)], r"momentum=None"),
    ([nn.BatchNorm2d(2, track_running_stats=False)], r"track_running_stats=False"),
    ([nn.MaxPool2d(2, padding=1)], r"module 0 \(MaxPool2d\): padding=1"),
    ([nn.MaxPool2d(2, ceil_mode=True)], r"ceil_mode=True"),
    ([nn.AvgPool2d(2, divisor_override=3)], r"divisor_override"),
    ([nn.Conv2d(1, 1, 1), nn.Softmax(dim=1)], r"module 1 \(Softmax\): dim=1 \(on rank 4\)"),
    ([nn.Softmax(dim=1), nn.ReLU(), nn.Conv2d(3, 2, 1)], r"module 0 \(Softmax\): dim=1 \(on rank 4\)"),
    ([nn.Softmax(dim=1)], r"module 0 \(Softmax\): dim=1 \(on an input of unknown rank; dim=-1 is minidl's"),
    ([nn.Softmax(dim=1), nn.Flatten()], r"module 0 \(Softmax\): dim=1 \(on an input of unknown rank"),
    ([nn.Flatten(start_dim=2)], r"module 0 \(Flatten\): start_dim=2"),
    ([nn.Dropout(1.0)], r"module 0 \(Dropout\): Dropout rate"),
])
def test_from_torch_refuses_settings_minidl_lacks(modules, message):
    with pytest.raises(ValueError, match=message):
        from_torch(nn.Sequential(*modules))


def test_from_torch_refuses_non_finite_weights_and_a_negative_variance_naming_them():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        model[0].weight.fill_(float("inf"))
    with pytest.raises(ValueError, match=r"from_torch: key '0.weight' must be finite; got inf at index"):
        from_torch(model)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[1].running_var.fill_(-1.0)
    with pytest.raises(ValueError, match=r"from_torch: BatchNorm 'batchnorm': .*'running_var' has negative"):
        from_torch(model)


def test_from_torch_refuses_tensors_minidl_cannot_hold_saying_what_it_takes():
    message = r"module 0 \(Linear\): tensor 'weight' has dtype torch\.bfloat16; minidl takes float16, float32"
    with pytest.raises(TypeError, match=message):
        from_torch(nn.Sequential(nn.Linear(2, 2)).bfloat16())
    with torch.device("meta"):
        on_meta = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"module 0 \(Linear\): tensor 'weight' is on the meta device and "
                                         r"holds no data; from_torch needs the weights on the CPU"):
        from_torch(on_meta)
    assert from_torch(nn.Sequential(nn.Linear(2, 2)).half()).dtype == np.float16
    mixed = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1).double())
    with pytest.raises(TypeError, match=r"^from_torch: Network: the layers' parameters mix dtypes \(float32 "
                                        r"from layer 0 \(Dense\), float64 from layer 2 \(Dense\)\).*e\.g\. "
                                        r"model\.float\(\)$"):
        from_torch(mixed)


class Double(Layer):
    def forward(self, x):
        return 2.0 * x

    def backward(self, grad_y):
        return 2.0 * grad_y


class Scale(Layer):
    def __init__(self, n=2, name=None):
        super().__init__(name)
        self.scale = Parameter(np.arange(1.0, n + 1.0), name="scale")

    def forward(self, x):
        return x * self.scale.value

    def backward(self, grad_y):
        return grad_y * self.scale.value


class TorchScale(nn.Module):
    def __init__(self, n=2):
        super().__init__()
        self.scale = nn.Parameter(torch.zeros(n, dtype=torch.float64))

    def forward(self, x):
        return x * self.scale


@pytest.mark.parametrize(("call", "message"), [
    (lambda: to_torch(minidl.keras.Sequential([minidl.keras.layers.Dense(2, input_shape=(3,))])),
     r"to_torch expects a minidl Network; got Sequential; for a Keras-style model, pass model\.network"),
    (lambda: to_torch([Dense(3, 2)]), r"to_torch expects a minidl Network; got list$"),
    (lambda: torch_state_dict(Dense(3, 2)),
     r"torch_state_dict expects a list of minidl layers, e\.g\. network\.layers; got Dense"),
    (lambda: torch_state_dict([Dense(3, 2), "relu"]), r"list of minidl layers.*got \['Dense', 'str'\]"),
])
def test_anything_but_a_network_is_refused_saying_what_was_passed(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_to_torch_refuses_a_layer_without_a_rule_naming_it():
    with pytest.raises(TypeError, match=r"to_torch: layer 1 \(Double 'double'\) has no PyTorch rule; rules "
                                        r"exist for AvgPool2D, BatchNorm, .*register_torch_rule"):
        to_torch(Network([Dense(2, 2), Double()]))


def test_a_subclass_of_a_builtin_layer_needs_its_own_rule():
    class MyDense(Dense):
        pass

    with pytest.raises(TypeError, match=r"layer 0 \(MyDense"):
        to_torch(Network([MyDense(2, 2)]))


def test_register_torch_rule_exports_and_imports_your_layer():
    register_torch_rule(Scale, lambda layer, rank: TorchScale(len(layer.scale.value)),
                        module_class=TorchScale,
                        from_module=lambda module, rank: Scale(len(module.scale)))
    try:
        net = Network([Dense(3, 2, seed=0), Scale()])
        model = to_torch(net)
        assert type(model[1]) is TorchScale
        np.testing.assert_array_equal(model[1].scale.detach().numpy(), [1.0, 2.0])  # loaded by to_torch
        x = data((4, 3))
        np.testing.assert_allclose(net.predict(x), run(model, x), rtol=1e-12)
        again = from_torch(model)
        assert type(again[1]) is Scale
        np.testing.assert_array_equal(again[1].scale.value, [1.0, 2.0])
    finally:
        unregister_torch_rule(Scale)
    with pytest.raises(TypeError, match="Scale"):
        to_torch(Network([Scale()]))


def test_register_torch_rule_checks_its_arguments():
    with pytest.raises(TypeError, match=r"must be a subclass of minidl\.Layer"):
        register_torch_rule(int, lambda layer, rank: None)
    with pytest.raises(ValueError, match="module_class and from_module together"):
        register_torch_rule(Double, lambda layer, rank: None, module_class=TorchScale)
    with pytest.raises(TypeError, match="register_torch_rule: to_module must be a function; got 5"):
        register_torch_rule(Double, 5)
    with pytest.raises(TypeError, match="register_torch_rule: load_tensors must be a function; got 'x'"):
        register_torch_rule(Double, lambda layer, rank: None, load_tensors="x")
    with pytest.raises(TypeError, match="register_torch_rule: module_class must be a class; got 3"):
        register_torch_rule(Double, lambda layer, rank: None, module_class=3, from_module=lambda *a: Double())
    assert Double not in minidl.export.torch_rules()


@pytest.mark.parametrize("module_class", [nn.Identity, "Identity"])
def test_register_torch_rule_refuses_a_module_class_a_builtin_rule_reads(module_class):
    message = r"the rule of Identity already reads Identity modules in from_torch; unregister_torch_rule\("
    with pytest.raises(ValueError, match=message):
        register_torch_rule(Double, lambda layer, rank: nn.Identity(), module_class=module_class,
                            from_module=lambda module, rank: Double())
    assert Double not in minidl.export.torch_rules()
    assert type(from_torch(nn.Sequential(nn.Identity()))[0]) is Identity


def test_from_torch_refuses_a_from_module_that_gives_no_layer():
    register_torch_rule(Scale, lambda layer, rank: TorchScale(), module_class=TorchScale,
                        from_module=lambda module, rank: "scale")
    try:
        message = r"from_torch: module 0 \(TorchScale\): the from_module of Scale's rule returned str; exp"
        with pytest.raises(TypeError, match=message):
            from_torch(nn.Sequential(TorchScale()))
    finally:
        unregister_torch_rule(Scale)


def test_a_rule_whose_module_does_not_hold_its_tensors_is_reported():
    register_torch_rule(Scale, lambda layer, rank: nn.Identity())
    try:
        message = r"(?s)to_torch: the modules' state_dict does not match.*1\.scale"
        with pytest.raises(ValueError, match=message):
            to_torch(Network([Dense(2, 2), Scale()]))
    finally:
        unregister_torch_rule(Scale)
