"""Optimizers (minidl/optimizers.py): updates against formulas written out by hand, state, validation."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import minidl
from minidl import SGD, Adam, Dense, Network, Parameter, RMSprop
from minidl.optimizers import Optimizer, get_optimizer
from tests.messages import raises


# -- arguments checked -------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "argument", "error", "fragments"), [
    (lambda: SGD(learning_rate=-0.1), "SGD learning_rate", ValueError, ["[0.0, inf]", "got -0.1"]),
    (lambda: SGD(learning_rate=np.nan), "SGD learning_rate", ValueError, ["finite", "got nan"]),
    (lambda: SGD(learning_rate=np.inf), "SGD learning_rate", ValueError, ["finite", "got inf"]),
    (lambda: SGD(learning_rate="0.1"), "SGD learning_rate", TypeError, ["real number", "got '0.1'"]),
    (lambda: SGD(momentum=1.0), "SGD momentum", ValueError, ["[0.0, 1.0)", "got 1.0"]),
    (lambda: SGD(momentum=0.9, nesterov="yes"), "SGD nesterov", TypeError, ["True or False", "got 'yes'"]),
    (lambda: Adam(learning_rate=-1), "Adam learning_rate", ValueError, ["[0.0, inf]", "got -1.0"]),
    (lambda: Adam(beta_1=1.0), "Adam beta_1", ValueError, ["[0.0, 1.0)", "got 1.0"]),
    (lambda: Adam(beta_2=-0.5), "Adam beta_2", ValueError, ["[0.0, 1.0)", "got -0.5"]),
    (lambda: Adam(epsilon=0.0), "Adam epsilon", ValueError, ["(0.0, inf]", "got 0.0"]),
    (lambda: RMSprop(rho=1.5), "RMSprop rho", ValueError, ["[0.0, 1.0)", "got 1.5"]),
    (lambda: RMSprop(epsilon=-1e-7), "RMSprop epsilon", ValueError, ["(0.0, inf]", "got -1e-07"]),
])
def test_optimizer_hyper_parameters_are_checked(make: Callable, argument: str, error: type[Exception],
                                                fragments: list[str]) -> None:
    raises(error, make, argument, *fragments)


def test_learning_rate_set_later_is_checked_too() -> None:
    optimizer = SGD(learning_rate=0.1)
    raises(ValueError, lambda: setattr(optimizer, "learning_rate", -1.0), "SGD learning_rate", "got -1.0")
    assert optimizer.learning_rate == 0.1


@pytest.mark.parametrize("optimizer", [SGD(), SGD(momentum=0.9), Adam(), RMSprop()],
                         ids=lambda optimizer: repr(optimizer))
def test_optimizer_step_on_arrays_instead_of_parameters(optimizer: minidl.Optimizer) -> None:
    raises(TypeError, lambda: optimizer.step([np.ones(3)]), type(optimizer).__name__,
           "list of minidl Parameters", "got an element of type ndarray")
    raises(TypeError, lambda: optimizer.step([1.5]), "got an element of type float")


def test_optimizer_step_accepts_float32_parameters_and_keeps_them_float32() -> None:
    parameter = Parameter(np.array([1.0, 2.0], dtype=np.float32))
    parameter.grad[...] = [0.5, -0.5]
    for optimizer in (SGD(0.1), SGD(0.1, momentum=0.9), Adam(0.1), RMSprop(0.1)):
        optimizer.step([parameter])
        assert parameter.value.dtype == np.float32
    assert np.all(np.isfinite(parameter.value))


F32 = np.dtype(np.float32)


def _float32_batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "optimizer",
    [SGD(0.1), SGD(0.1, momentum=0.9), SGD(0.1, momentum=0.9, nesterov=True), RMSprop(0.01), Adam(0.01)],
    ids=repr,
)
def test_every_optimizer_updates_float32_in_float32(optimizer: minidl.Optimizer) -> None:
    layer = Dense(3, 2, dtype=np.float32, seed=0)
    x = _float32_batch((4, 3))
    values = [p.value for p in layer.parameters()]
    for _ in range(3):
        layer.forward(x)
        layer.backward(_float32_batch((4, 2), seed=2))
        optimizer.step(layer.parameters())
    for parameter, original in zip(layer.parameters(), values, strict=True):
        assert parameter.value.dtype == F32
        assert parameter.value is original  # updated in place, not replaced
    for name, array in optimizer.state_arrays(layer.parameters()).items():
        if array.ndim:  # the per-parameter slot arrays (counts are 0-d integers)
            assert array.dtype == F32, name


def test_course_step_lr_001():
    # The course: weights [0, 2, 1], slope [14, 28, 42], learning rate 0.01.
    p = Parameter(np.array([0.0, 2.0, 1.0]))
    p.grad[...] = [14.0, 28.0, 42.0]
    SGD(learning_rate=0.01).step([p])
    np.testing.assert_allclose(p.value, [-0.14, 1.72, 0.58], rtol=0, atol=1e-15)


GRADS = [np.array([1.0, -2.0]), np.array([0.5, 0.5]), np.array([-3.0, 1.0])]


def run(optimizer: Optimizer, start=(1.0, -1.0), grads=GRADS, dtype=np.float64):
    p = Parameter(np.array(start, dtype=dtype))
    values = []
    for g in grads:
        p.grad[...] = g
        optimizer.step([p])
        values.append(p.value.copy())
    return p, values


def test_sgd_plain_three_steps():
    _, values = run(SGD(learning_rate=0.1))
    w = np.array([1.0, -1.0])
    for g, got in zip(GRADS, values, strict=True):
        w = w - 0.1 * g
        np.testing.assert_allclose(got, w, rtol=1e-15)


def test_sgd_momentum_by_hand():
    _, values = run(SGD(learning_rate=0.1, momentum=0.9))
    # v1 = -0.1 g1 = [-0.1, 0.2]; w1 = [0.9, -0.8]
    # v2 = 0.9 v1 - 0.1 g2 = [-0.09 - 0.05, 0.18 - 0.05] = [-0.14, 0.13]; w2 = [0.76, -0.67]
    # v3 = 0.9 v2 - 0.1 g3 = [-0.126 + 0.3, 0.117 - 0.1] = [0.174, 0.017]; w3 = [0.934, -0.653]
    expected = [[0.9, -0.8], [0.76, -0.67], [0.934, -0.653]]
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)


def test_sgd_nesterov_by_hand():
    _, values = run(SGD(learning_rate=0.1, momentum=0.9, nesterov=True))
    # w += mu * v_new - lr * g
    # step 1: v1 = [-0.1, 0.2]; w1 = [1, -1] + 0.9 v1 - 0.1 g1 = [1 - 0.09 - 0.1, -1 + 0.18 + 0.2]
    # step 2: v2 = [-0.14, 0.13]; w2 = w1 + [-0.126, 0.117] - [0.05, 0.05]
    # step 3: v3 = [0.174, 0.017]; w3 = w2 + [0.1566, 0.0153] - [-0.3, 0.1]
    w1 = [0.81, -0.62]
    w2 = [0.81 - 0.176, -0.62 + 0.067]
    w3 = [w2[0] + 0.4566, w2[1] - 0.0847]
    np.testing.assert_allclose(values, [w1, w2, w3], rtol=0, atol=1e-12)


def test_rmsprop_by_hand():
    lr, rho, eps = 0.01, 0.9, 1e-7
    _, values = run(RMSprop(learning_rate=lr, rho=rho, epsilon=eps))
    w = [1.0, -1.0]
    v = [0.0, 0.0]
    for g, got in zip(GRADS, values, strict=True):
        for i in range(2):
            v[i] = rho * v[i] + (1 - rho) * g[i] ** 2
            w[i] = w[i] - lr * g[i] / (math.sqrt(v[i]) + eps)
        np.testing.assert_allclose(got, w, rtol=1e-13)


def test_adam_by_hand_with_bias_correction():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    _, values = run(Adam(learning_rate=lr, beta_1=b1, beta_2=b2, epsilon=eps))
    w = [1.0, -1.0]
    m = [0.0, 0.0]
    v = [0.0, 0.0]
    for t, (g, got) in enumerate(zip(GRADS, values, strict=True), start=1):
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            w[i] = w[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_adam_first_step_is_learning_rate_times_sign():
    _, values = run(Adam(learning_rate=0.01), grads=[np.array([1e-3, -50.0])])
    np.testing.assert_allclose(values[0], [1.0 - 0.01, -1.0 + 0.01], rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: SGD(0.1), lambda: SGD(0.1, momentum=0.9, nesterov=True),
    lambda: RMSprop(0.01), lambda: Adam(0.01),
])
def test_float32_stays_float32_and_in_place(make):
    p = Parameter(np.array([1.0, -1.0], dtype=np.float32))
    value = p.value
    p.grad[...] = [0.5, -0.25]
    opt = make()
    opt.step([p])
    opt.step([p])
    assert p.value is value
    assert p.value.dtype == np.float32
    for array in opt.state_arrays([p]).values():
        assert array.dtype in (np.float32, np.int64)


def test_state_is_per_parameter_object():
    a = Parameter(np.zeros(2))
    b = Parameter(np.zeros(2))
    opt = SGD(0.1, momentum=0.5)
    a.grad[...] = 1.0
    b.grad[...] = -1.0
    opt.step([a, b])
    opt.step([a, b])
    # v1 = -0.1, v2 = -0.05 - 0.1 = -0.15 -> a = -0.25, b = +0.25
    np.testing.assert_allclose(a.value, [-0.25, -0.25])
    np.testing.assert_allclose(b.value, [0.25, 0.25])


def test_state_arrays_round_trip_gives_identical_continuation():
    grads = GRADS * 2
    _, straight = run(Adam(0.05), grads=grads)
    first = Adam(0.05)
    p, _ = run(first, grads=grads[:3])
    saved = first.state_arrays([p])
    assert int(saved["iterations"]) == 3 and int(saved["0/t"]) == 3
    resumed = Adam(**first.config())
    resumed.load_state_arrays([p], saved)
    for g in grads[3:]:
        p.grad[...] = g
        resumed.step([p])
    np.testing.assert_array_equal(p.value, straight[-1])
    assert resumed.iterations == 6


def test_load_state_arrays_rejects_bad_input_and_keeps_state():
    opt = SGD(0.1, momentum=0.9)
    p, _ = run(opt)
    good = opt.state_arrays([p])
    with pytest.raises(ValueError, match="iterations"):
        opt.load_state_arrays([p], {k: v for k, v in good.items() if k != "iterations"})
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        opt.load_state_arrays([p], {**good, "0/velocity": np.zeros(3)})
    with pytest.raises(ValueError, match="unexpected key"):
        opt.load_state_arrays([p], {**good, "0/m": np.zeros(2)})
    with pytest.raises(ValueError, match="only 1 parameters"):
        opt.load_state_arrays([p], {**good, "1/t": np.array(1), "1/velocity": np.zeros(2)})
    with pytest.raises(ValueError, match="finite"):
        opt.load_state_arrays([p], {**good, "0/velocity": np.array([np.nan, 0.0])})
    np.testing.assert_array_equal(opt.state_arrays([p])["0/velocity"], good["0/velocity"])


def test_load_state_arrays_names_a_missing_entry_of_a_stepped_parameter():
    opt = Adam(0.01)
    p, _ = run(opt)
    partial = {key: value for key, value in opt.state_arrays([p]).items() if key != "0/v"}
    with pytest.raises(ValueError, match=r"^Adam.load_state_arrays: no '0/v' entry; got keys \['0/m', '0/t', "
                                         r"'iterations'\]$"):
        opt.load_state_arrays([p], partial)
    with pytest.raises(ValueError, match=r"^Adam.load_state_arrays: no 'iterations' entry"):
        opt.load_state_arrays([p], {key: value for key, value in partial.items() if key != "iterations"})
    assert opt.iterations == 3  # nothing changed


def test_config_rebuilds():
    for opt in (SGD(0.2, 0.5, True), RMSprop(0.3, 0.8, 1e-6), Adam(0.1, 0.8, 0.99, 1e-7)):
        rebuilt = type(opt)(**opt.config())
        assert rebuilt.config() == opt.config()


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_learning_rate_names_the_argument(bad):
    for cls in (SGD, RMSprop, Adam):
        with pytest.raises(ValueError, match="learning_rate"):
            cls(learning_rate=bad)


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.0)
    with pytest.raises(ValueError, match="beta_1"):
        Adam(beta_1=-0.1)
    with pytest.raises(ValueError, match="epsilon"):
        Adam(epsilon=0.0)
    with pytest.raises(ValueError, match="rho"):
        RMSprop(rho=1.5)
    with pytest.raises(TypeError, match="learning_rate"):
        SGD(learning_rate="fast")
    opt = SGD()
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1


def test_get_optimizer_names():
    assert isinstance(get_optimizer("SGD"), SGD)
    assert isinstance(get_optimizer("adam"), Adam)
    assert isinstance(get_optimizer("rmsprop"), RMSprop)
    with pytest.raises(ValueError, match="'sgd', 'rmsprop', 'adam'"):
        get_optimizer("adma")


@pytest.mark.parametrize("make", [lambda: Adam(0.01), lambda: RMSprop(0.01)], ids=["Adam", "RMSprop"])
def test_load_state_arrays_refuses_a_negative_second_moment(make):
    # v is a running mean of squared gradients; the next step would take sqrt(-0.5) = nan.
    opt = make()
    p = Parameter(np.array([1.0, -1.0]), name="dense_1.weight")
    p.grad[...] = [0.5, -0.25]
    opt.step([p])
    good = opt.state_arrays([p])
    name = type(opt).__name__
    with pytest.raises(ValueError, match=rf"{name}.load_state_arrays: '0/v', the second moment of parameter "
                                         r"'dense_1.weight', must be >= 0 .*got -0.5"):
        opt.load_state_arrays([p], {**good, "0/v": np.array([0.1, -0.5])})
    np.testing.assert_array_equal(opt.state_arrays([p])["0/v"], good["0/v"])  # state kept as it was
    opt.load_state_arrays([p], {**good, "0/v": np.array([0.0, 0.5])})        # zero is a valid moment
    with np.errstate(invalid="raise"):
        opt.step([p])


def test_a_negative_first_moment_or_velocity_is_fine():
    adam = Adam(0.01)
    p, _ = run(adam)
    adam.load_state_arrays([p], {**adam.state_arrays([p]), "0/m": np.array([-1.0, -2.0])})
    sgd = SGD(0.1, momentum=0.9)
    q, _ = run(sgd)
    sgd.load_state_arrays([q], {**sgd.state_arrays([q]), "0/velocity": np.array([-1.0, -2.0])})
    np.testing.assert_array_equal(sgd.state_arrays([q])["0/velocity"], [-1.0, -2.0])


def test_step_refuses_a_non_parameter_naming_the_optimizer():
    with pytest.raises(TypeError, match=r"Adam.step expects a list of minidl Parameters .*type ndarray"):
        Adam().step([np.ones(2)])


def test_optimizer_step_given_one_parameter_names_the_fix():
    parameter = minidl.Parameter(np.zeros(2), name="w")
    optimizer = SGD()
    with pytest.raises(TypeError, match=r"expects a list of Parameters; got a single Parameter 'w'"):
        optimizer.step(parameter)  # type: ignore[arg-type]
    assert optimizer.iterations == 0


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_steps_with_an_integer_gradient(momentum):
    # the course's slopes as integers: the rate, cast to the gradient's int64, was 0 and nothing moved
    w = Parameter(np.array([0.0, 2.0, 1.0]))
    w.grad = np.array([14, 28, 42])
    SGD(0.01, momentum=momentum).step([w])
    np.testing.assert_allclose(w.value, [-0.14, 1.72, 0.58])


def test_step_takes_any_iterable_of_parameters():
    # the checks used up a generator, and the update loop then saw nothing
    w = Parameter(np.array([1.0]))
    w.grad[...] = 1.0
    SGD(0.1).step(p for p in [w])
    np.testing.assert_allclose(w.value, [0.9])


def test_step_refuses_a_gradient_of_another_shape_and_a_parameter_given_twice():
    w = Parameter(np.zeros(3), name="w")
    w.grad = np.ones(1)  # numpy broadcast it into every entry
    with pytest.raises(ValueError, match=r"SGD.step: the gradient of parameter 'w' has shape \(1,\); "
                                         r"expected \(3,\), its value's"):
        SGD(0.1).step([w])
    w.grad = 0.5
    with pytest.raises(TypeError, match=r"gradient of parameter 'w' must be a numpy array; got float"):
        SGD(0.1).step([w])
    w.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"Adam\.step got a Parameter twice; it would be stepped twice"):
        Adam().step([w, w])
    np.testing.assert_array_equal(w.value, np.zeros(3))  # refused before any change


@pytest.mark.parametrize("optimizer_class", [SGD, RMSprop, Adam])
def test_lr_is_refused_by_naming_learning_rate(optimizer_class):
    name = optimizer_class.__name__
    raises(TypeError, lambda: optimizer_class(lr=0.1), f"{name} has no argument 'lr'",
           f"{name}(learning_rate=0.1)")
    assert optimizer_class(learning_rate=0.1).learning_rate == 0.1  # the real argument still works


def test_the_attribute_lr_is_the_learning_rate_read_or_set():
    # A warmup callback setting optimizer.lr = 0.0 (Keras 2's name) was silently ignored
    optimizer = SGD(learning_rate=0.01)
    assert optimizer.lr == 0.01
    optimizer.lr = 0.0
    assert optimizer.learning_rate == 0.0
    with pytest.raises(ValueError, match="learning_rate"):
        optimizer.lr = -1.0

    class OwnLr(Optimizer):  # PyTorch's habit: an optimizer of one's own keeping self.lr
        def __init__(self, lr=0.1):
            super().__init__(lr)
            self.lr = lr

        def _update(self, parameter, grad, state):
            parameter.value -= self.lr * grad

    weight = Parameter(np.array([1.0]), name="w")
    weight.grad[...] = 1.0
    OwnLr().step([weight])
    np.testing.assert_allclose(weight.value, [0.9])


def test_the_first_step_check_runs_a_subclasss_own_step_once():
    # It re-entered through self.step: a schedule written in step halved its rate twice on step 1
    class Halving(SGD):
        calls = 0

        def step(self, parameters):
            self.calls += 1
            self.learning_rate = 0.1 * 0.5 ** (self.calls - 1)
            super().step(parameters)

    weight, optimizer = Parameter(np.array([1.0]), name="w"), Halving()
    weight.grad[...] = 1.0
    optimizer.step([weight])
    assert (optimizer.calls, optimizer.iterations, optimizer.learning_rate) == (1, 1, 0.1)
    np.testing.assert_allclose(weight.value, [0.9])


class _Rebinding(Optimizer):
    """A learner's update that makes a new float64 array instead of changing the value in place."""

    def _update(self, parameter, grad, state):
        parameter.value = parameter.value - np.float64(self.learning_rate) * grad.astype(np.float64)


class _NoSuper(Optimizer):
    def __init__(self, learning_rate=0.1):  # forgot super().__init__(learning_rate)
        self.rate = learning_rate

    def _update(self, parameter, grad, state):
        parameter.value -= self.rate * grad


def test_a_custom_update_that_replaces_the_value_is_refused_on_the_first_step():
    # It turned a float32 network into float64, silently, and left every other holder of the array behind
    network = Network([Dense(3, 2, seed=0)]).astype(np.float32)
    network.compile(optimizer=_Rebinding(0.1), loss="mse")
    x = np.ones((4, 3), dtype=np.float32)
    raises(TypeError, lambda: network.fit(x, np.zeros((4, 2)), epochs=1, verbose=0),
           "_Rebinding._update replaced the value of parameter 'weight' by a new array (float32 became "
           "float64)", "update it in place: parameter.value -= ... or parameter.value[...] = ...")


def test_a_custom_optimizer_written_as_the_docstring_says_trains_a_float32_network_in_float32():
    class Adagrad(Optimizer):
        slots = ("sum",)

        def _update(self, parameter, grad, state):
            (total,) = state.arrays
            total += grad * grad
            parameter.value -= self.learning_rate * grad / (np.sqrt(total) + 1e-7)

    w = Parameter(np.array([1.0, 1.0], dtype=np.float32))
    original, optimizer = w.value, Adagrad(0.5)
    for g in ([3.0, -4.0], [4.0, 3.0]):  # s = [9, 16], then [25, 25]
        w.grad[...] = g
        optimizer.step([w])
    expected = np.array([1.0 - 0.5 * 3 / 3 - 0.5 * 4 / 5, 1.0 + 0.5 * 4 / 4 - 0.5 * 3 / 5])
    np.testing.assert_allclose(w.value, expected, rtol=1e-6)
    assert w.value is original and w.value.dtype == np.float32


def test_a_custom_optimizer_that_forgot_super_init_says_so_at_its_first_step():
    w = Parameter(np.ones(2), name="w")
    raises(TypeError, lambda: _NoSuper().step([w]), "_NoSuper was not initialised as an Optimizer",
           "super().__init__(learning_rate)")


def test_passing_the_optimizer_class_instead_of_an_object_says_how_to_make_one():
    network = minidl.Network([Dense(2, 1)])
    raises(TypeError, lambda: network.compile(optimizer=Adam, loss="mse"),
           "optimizer must be a name or an Optimizer object; got the class Adam; create one with Adam()")


def test_sgd_and_rmsprop_defaults_are_the_documented_ones():
    sgd, rmsprop = SGD(), RMSprop()
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    assert (rmsprop.learning_rate, rmsprop.rho, rmsprop.epsilon) == (0.001, 0.9, 1e-7)
    # One step with each, by hand, from w = 1 and g = 2.
    w = Parameter(np.array([1.0]))
    w.grad[...] = 2.0
    sgd.step([w])
    assert w.value[0] == 1.0 - 0.01 * 2.0
    w.value[...] = 1.0
    rmsprop.step([w])
    v = 0.1 * 2.0**2  # (1 - rho) g**2 from a zero average
    assert w.value[0] == pytest.approx(1.0 - 0.001 * 2.0 / (math.sqrt(v) + 1e-7), rel=1e-15)


# -- weight decay, AdamW, gradient clipping (issue 12) ---------------------------------------------
from minidl import AdamW  # noqa: E402


def _run_many(optimizer: Optimizer, steps: int = 5, seed: int = 0) -> tuple[list[Parameter], list[list]]:
    """Two parameters stepped with seeded float64 gradients; their values after every step."""
    rng = np.random.default_rng(seed)
    params = [Parameter(rng.standard_normal((3, 2))), Parameter(rng.standard_normal(4))]
    grads = [[rng.standard_normal(p.shape) * 3.0 for p in params] for _ in range(steps)]
    history = []
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad[...] = g
        optimizer.step(params)
        history.append([p.value.copy() for p in params])
    return params, history


def _run_torch(make, steps: int = 5, seed: int = 0, clip: float | None = None) -> list[list]:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    params = [torch.tensor(rng.standard_normal((3, 2)), requires_grad=True),
              torch.tensor(rng.standard_normal(4), requires_grad=True)]
    grads = [[rng.standard_normal(tuple(p.shape)) * 3.0 for p in params] for _ in range(steps)]
    optimizer, history = make(torch, params), []
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = torch.tensor(g)
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


@pytest.mark.parametrize(("ours", "theirs", "clip"), [
    (lambda: SGD(0.05, momentum=0.9, weight_decay=0.1),
     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.1), None),
    (lambda: SGD(0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), None),
    (lambda: SGD(0.05, weight_decay=0.2), lambda t, ps: t.optim.SGD(ps, lr=0.05, weight_decay=0.2), None),
    (lambda: RMSprop(0.01, rho=0.9, epsilon=1e-7, weight_decay=0.1),
     lambda t, ps: t.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-7, weight_decay=0.1), None),
    (lambda: Adam(0.01, 0.8, 0.99, 1e-8, weight_decay=0.1),
     lambda t, ps: t.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.1), None),
    (lambda: AdamW(0.01, 0.8, 0.99, 1e-8, weight_decay=0.3),
     lambda t, ps: t.optim.AdamW(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.3), None),
    (lambda: AdamW(), lambda t, ps: t.optim.AdamW(ps), None),  # the defaults agree too
    (lambda: SGD(0.05, momentum=0.9, weight_decay=0.1, global_clipnorm=1.0),
     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.1), 1.0),
    (lambda: Adam(0.01, global_clipnorm=0.5), lambda t, ps: t.optim.Adam(ps, lr=0.01), 0.5),
    (lambda: SGD(0.05, global_clipnorm=1e3), lambda t, ps: t.optim.SGD(ps, lr=0.05), 1e3),  # no clipping
], ids=["sgd-momentum", "sgd-nesterov", "sgd", "rmsprop", "adam", "adamw", "adamw-defaults",
        "sgd-global-clip", "adam-global-clip", "global-clip-inactive"])
def test_trajectories_equal_torch_optim_in_float64(ours, theirs, clip) -> None:
    expected = _run_torch(theirs, clip=clip)
    _, history = _run_many(ours())
    for step, (mine, torch_values) in enumerate(zip(history, expected, strict=True)):
        for a, b in zip(mine, torch_values, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {step + 1}")


def test_global_clipnorm_scales_as_clip_grad_norm_() -> None:
    torch = pytest.importorskip("torch")
    grads = [np.array([[3.0, 0.0], [0.0, 4.0]]), np.array([12.0])]  # global norm 13
    tensors = [torch.tensor(g, requires_grad=True) for g in grads]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    params = [Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad[...] = g
    SGD(1.0, global_clipnorm=1.0).step(params)  # w = 0 - clipped g
    for p, t in zip(params, tensors, strict=True):
        np.testing.assert_array_equal(-p.value, t.grad.numpy())


def test_global_clipnorm_by_hand_with_torch_epsilon() -> None:
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(1))
    a.grad[...], b.grad[...] = [3.0, 4.0], [12.0]  # norm 13
    SGD(1.0, global_clipnorm=2.0).step([a, b])
    scale = 2.0 / (13.0 + 1e-6)  # torch.nn.utils.clip_grad_norm_'s divisor
    np.testing.assert_allclose(-a.value, [3.0 * scale, 4.0 * scale], rtol=1e-15)
    np.testing.assert_allclose(-b.value, [12.0 * scale], rtol=1e-15)


def test_clipnorm_rescales_each_parameter_on_its_own_by_hand() -> None:
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(2))
    a.grad[...], b.grad[...] = [3.0, 4.0], [0.3, 0.4]  # norms 5 and 0.5
    SGD(1.0, clipnorm=1.0).step([a, b])
    np.testing.assert_allclose(-a.value, [0.6, 0.8], rtol=1e-15)
    np.testing.assert_array_equal(-b.value, [0.3, 0.4])  # under the limit: unchanged


@pytest.mark.parametrize("clip", [{"clipnorm": 1.0}, {"global_clipnorm": 1.0}], ids=str)
def test_norm_clipping_of_a_float16_gradient_whose_squares_overflow(clip) -> None:
    # 300**2 is beyond float16's 65504: the norm was inf, and the step 0 (SGD) or NaN (Adam).
    p = Parameter(np.zeros(2, dtype=np.float16))
    p.grad[...] = [300.0, -400.0]  # norm 500
    SGD(1.0, **clip).step([p])
    assert p.value.dtype == np.float16
    np.testing.assert_allclose(-p.value, [0.6, -0.8], rtol=1e-3)


@pytest.mark.parametrize("optimizer", [Adam(), AdamW()], ids=["Adam", "AdamW"])
def test_an_epsilon_that_is_zero_in_float16_is_refused_before_a_step(optimizer) -> None:
    # 1e-8 rounds to 0 in float16: a zero gradient gave 0 / (0 + 0), a NaN weight, and fit stopped
    # with the advice to lower the learning rate.
    p = Parameter(np.zeros(2, dtype=np.float16), name="w")
    p.grad[...] = [0.0, 1.0]
    with pytest.raises(ValueError, match=r"epsilon=1e-08 is 0 in float16 \(parameter 'w'\).*at least 5\.96"):
        optimizer.step([p])
    np.testing.assert_array_equal(p.value, [0.0, 0.0])
    type(optimizer)(epsilon=1e-7).step([p])  # a representable epsilon: a finite step
    np.testing.assert_allclose(p.value, [0.0, -0.001], rtol=1e-3)


def test_clipvalue_clips_every_element_by_hand() -> None:
    p = Parameter(np.zeros(4))
    p.grad[...] = [-3.0, -0.2, 0.5, 7.0]
    SGD(1.0, clipvalue=0.5).step([p])
    np.testing.assert_array_equal(-p.value, [-0.5, -0.2, 0.5, 0.5])


def test_weight_decay_and_adamw_by_hand() -> None:
    p = Parameter(np.array([2.0]))
    p.grad[...] = [1.0]
    SGD(0.1, weight_decay=0.5).step([p])  # g = 1 + 0.5 * 2 = 2
    assert p.value[0] == pytest.approx(2.0 - 0.1 * 2.0, rel=1e-15)
    q = Parameter(np.array([2.0]))
    q.grad[...] = [1.0]
    AdamW(0.1, weight_decay=0.5).step([q])  # w = 2 * (1 - 0.05) = 1.9, then Adam's first step -0.1
    assert q.value[0] == pytest.approx(1.9 - 0.1, abs=1e-8)  # (epsilon moves it by 1e-9)
    r = Parameter(np.array([2.0]))
    r.grad[...] = [1.0]
    Adam(0.1, weight_decay=0.5).step([r])  # L2 through the moments: the first step is still -lr * sign
    assert r.value[0] == pytest.approx(2.0 - 0.1, abs=1e-8)


@pytest.mark.parametrize("make", [
    lambda: SGD(0.1, weight_decay=0.5),
    lambda: RMSprop(0.1, weight_decay=0.5),
    lambda: Adam(0.1, weight_decay=0.5, clipvalue=1.0),
], ids=["sgd", "rmsprop", "adam"])
def test_weight_decay_steps_a_scalar_parameter_as_a_one_element_one(make) -> None:
    # A 0-d value times the decay is a numpy scalar, not an array: np.add(..., out=) refused it
    # ("return arrays must be of ArrayType").
    scalar, vector = Parameter(np.array(2.0)), Parameter(np.array([2.0]))
    scalar.grad[...], vector.grad[...] = 1.0, [1.0]
    make().step([scalar])
    make().step([vector])
    assert scalar.shape == () and scalar.value == vector.value[0]


def test_clipping_applies_before_weight_decay() -> None:
    p = Parameter(np.array([2.0]))
    p.grad[...] = [10.0]
    SGD(1.0, weight_decay=0.5, clipvalue=1.0).step([p])  # g = clip(10) + 0.5 * 2 = 2
    assert p.value[0] == 0.0


@pytest.mark.parametrize("make", [
    lambda: SGD(0.1, momentum=0.9, weight_decay=0.1, clipnorm=0.5),
    lambda: RMSprop(0.01, weight_decay=0.1, clipvalue=0.1),
    lambda: Adam(0.01, weight_decay=0.1, global_clipnorm=0.5),
    lambda: AdamW(0.01, clipnorm=0.5),
    lambda: SGD(0.1, momentum=0.9),
], ids=["sgd", "rmsprop", "adam", "adamw", "plain"])
def test_step_never_changes_parameter_grad(make) -> None:
    rng = np.random.default_rng(1)
    params = [Parameter(rng.standard_normal(3)), Parameter(rng.standard_normal((2, 2)))]
    for p in params:
        p.grad[...] = rng.standard_normal(p.shape) * 5.0
    before = [(p.grad, p.grad.copy()) for p in params]
    optimizer = make()
    for _ in range(3):
        optimizer.step(params)
    for p, (array, copy) in zip(params, before, strict=True):
        assert p.grad is array
        np.testing.assert_array_equal(p.grad, copy)


def test_plain_path_skips_the_gradient_copy(monkeypatch) -> None:
    # weight_decay=0 and no clipping: the update gets Parameter.grad itself, _gradient is never called.
    def fail(*args, **kwargs):
        raise AssertionError("_gradient called on the plain path")
    monkeypatch.setattr(Optimizer, "_gradient", fail)
    for optimizer in (SGD(0.1), SGD(0.1, momentum=0.9), RMSprop(), Adam(), AdamW(), AdamW(weight_decay=0.0)):
        run(optimizer)
    with pytest.raises(AssertionError, match="plain path"):
        run(SGD(0.1, weight_decay=0.1))


def test_float32_stays_float32_with_decay_and_clipping() -> None:
    for optimizer in (SGD(0.1, weight_decay=0.1, clipnorm=1.0), Adam(0.1, weight_decay=0.1, clipvalue=0.5),
                      AdamW(0.1, global_clipnorm=0.5), RMSprop(0.1, weight_decay=0.1)):
        p = Parameter(np.array([1.0, 2.0], dtype=np.float32))
        p.grad[...] = [5.0, -5.0]
        optimizer.step([p])
        assert p.value.dtype == np.float32


@pytest.mark.parametrize(("make", "fragments"), [
    (lambda: SGD(weight_decay=-0.1), ["SGD weight_decay", "[0.0, inf]", "got -0.1"]),
    (lambda: Adam(weight_decay=np.nan), ["Adam weight_decay", "finite"]),
    (lambda: AdamW(weight_decay=-1), ["AdamW weight_decay", "got -1.0"]),
    (lambda: RMSprop(clipnorm=0.0), ["RMSprop clipnorm", "(0.0, inf]", "got 0.0"]),
    (lambda: SGD(clipnorm=-1.0), ["SGD clipnorm", "got -1.0"]),
    (lambda: Adam(clipvalue=0), ["Adam clipvalue", "got 0.0"]),
    (lambda: Adam(global_clipnorm=np.inf), ["Adam global_clipnorm", "finite"]),
    (lambda: SGD(clipnorm=1.0, global_clipnorm=1.0),
     ["SGD: at most one of clipnorm, clipvalue and global_clipnorm",
      "got clipnorm=1.0, global_clipnorm=1.0"]),
    (lambda: Adam(clipnorm=1.0, clipvalue=0.5), ["at most one", "clipnorm=1.0, clipvalue=0.5"]),
])
def test_decay_and_clipping_arguments_are_checked(make, fragments) -> None:
    with pytest.raises(ValueError) as info:
        make()
    for fragment in fragments:
        assert fragment in str(info.value)
    with pytest.raises(TypeError, match="AdamW clipnorm must be a real number"):
        AdamW(clipnorm="1")


def test_new_arguments_are_in_config_and_rebuild() -> None:
    optimizers = [SGD(0.2, 0.5, True, 0.01, clipnorm=2.0), RMSprop(0.3, weight_decay=0.1, clipvalue=0.5),
                  Adam(0.1, weight_decay=0.2, global_clipnorm=1.5), AdamW(0.01, weight_decay=0.05)]
    for opt in optimizers:
        rebuilt = type(opt)(**opt.config())
        assert rebuilt.config() == opt.config()
    assert optimizers[0].config()["clipnorm"] == 2.0 and "clipvalue" not in optimizers[0].config()
    assert repr(optimizers[3]) == ("AdamW(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-08, "
                                   "weight_decay=0.05)")
    assert get_optimizer("AdamW").config() == AdamW().config() and AdamW().weight_decay == 0.01
    keras = pytest.importorskip("minidl.keras")  # (always there: imported by name, not as minidl.keras)
    assert keras.AdamW is AdamW and "AdamW" in minidl.__all__ and "AdamW" in keras.__all__


@pytest.mark.parametrize("make", [
    lambda: AdamW(0.01, weight_decay=0.1, clipnorm=0.5),
    lambda: SGD(0.05, momentum=0.9, weight_decay=0.01, global_clipnorm=1.0),
    lambda: RMSprop(0.01, weight_decay=0.01, clipvalue=0.2),
], ids=["adamw", "sgd", "rmsprop"])
def test_model_file_keeps_decay_and_clipping_and_resumes_identically(make, tmp_path) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))

    def network() -> minidl.Network:
        net = minidl.Network([Dense(3, 4, seed=1), minidl.Tanh(), Dense(4, 1, seed=2)])
        net.compile(optimizer=make(), loss="mse")
        return net

    straight = network()
    for _ in range(6):
        straight.train_step(x, y)
    first = network()
    for _ in range(3):
        first.train_step(x, y)
    first.save(tmp_path / "model.npz")
    resumed = minidl.load(tmp_path / "model.npz")
    assert resumed.optimizer.config() == first.optimizer.config() == make().config()
    for _ in range(3):
        resumed.train_step(x, y)
    for a, b in zip(resumed.parameters(), straight.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)
