"""minidl's speed against the hand-written numpy floor (and PyTorch, when installed).

Run from the repository root::

    python benchmarks/run.py            # the full run (under two minutes on 2 cores)
    python benchmarks/run.py --quick    # a few seconds: checks that everything runs

What it times (see README.md beside this file):

* ``tiny``: one training step of the course's 2-2-1 ReLU network (``weights_0``) on one
  float64 sample: ``zero_grad``, ``forward``, mean squared error, ``backward``, SGD.
* ``mlp-B``: one training step of a 784-256-128-10 MLP (ReLU, softmax + cross-entropy,
  SGD) on a float32 batch of ``B`` = 1, 32, 128, through the public API.
* ``fit``: ``Network.fit`` per batch against the plain training loop.
* ``small``: ``Network.fit`` of a digits-sized 64-50-50-10 MLP (float32, batch 32, 1,408
  seeded random samples, shuffled) per batch, against the plain loop and PyTorch's.
* ``memory``: the MLP's peak memory during ``fit`` against the arrays it must hold.
* ``lenet-B``: one training step of a LeNet-5-like CNN (two 5x5 convolutions, max-pooling,
  three Dense layers, softmax + cross-entropy, SGD) on float32 ``(B, 1, 28, 28)`` images,
  ``B`` = 8, 64, 256, as a user writes it: ``network.train_step(x, labels)``; PyTorch on
  1 and 2 threads. ``lenet-memory``: its peak memory during ``fit``.

Every case runs its implementations interleaved (the order rotates each round) after a
warm-up; the reported time is the median over rounds, and the ratio is the median over
rounds of the ratio to the floor measured in the same round, so a slow phase of the
machine hits both sides of a ratio alike. Before timing, each implementation is checked
to compute the same step as the floor.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import itertools
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from floors import LeNetFloor, LooseTinyFloor, MLPFloor, TinyFloor, floor_fit

import minidl

Array = np.ndarray[Any, Any]

WEIGHTS_0 = {"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]}
MLP_SIZES = (784, 256, 128, 10)
SMALL_SIZES = (64, 50, 50, 10)  # the digits-sized MLP of the ``small`` case
SMALL_SAMPLES, SMALL_BATCH, SMALL_EPOCHS, SMALL_LR = 1408, 32, 3, 1e-2
TINY_LR = 1e-4
MLP_LR = 1e-3

#: Targets from issue 6: the largest acceptable ratio to the floor, per case.
#: The MLP's explicit step is measured against the floor plus the one matrix product
#: the floor skips (``Network.backward`` returns dL/dx); ``fit`` against the plain floor.
TARGETS = {
    "tiny": ("minidl", "floor", 2.0),  # issue 15: against the tight floor (the loose one is beside it)
    "mlp-128": ("minidl", "floor + dx", 1.1),
    "mlp-32": ("minidl", "floor + dx", 1.2),
    "mlp-1": ("minidl", "floor + dx", 1.3),
    "fit-128": ("minidl fit", "floor", 1.1),
    "small": ("minidl fit", "floor", 1.15),  # issue 15: fit of the 64-50-50-10 MLP, per batch
    "lenet-64": ("minidl", "floor", 1.25),  # issue 11: network.train_step against the LeNet floor
}


# --------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    """Platform, CPU, numpy and BLAS (through threadpoolctl when installed)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "minidl": minidl.__version__,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        info["blas"] = "unknown (pip install threadpoolctl, or .[bench], to see it)"
    else:
        info["blas"] = [
            {k: pool.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for pool in threadpool_info()
            if pool.get("user_api") == "blas"
        ]
    return info


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------
@dataclass
class CaseResult:
    name: str
    description: str
    number: int
    rounds: int
    times: dict[str, list[float]] = field(default_factory=dict)
    floor: str = "floor"

    def median(self, impl: str) -> float:
        return statistics.median(self.times[impl])

    def ratio(self, impl: str, floor: str | None = None) -> float:
        base = self.times[floor or self.floor]
        return statistics.median(t / b for t, b in zip(self.times[impl], base, strict=True))


def time_interleaved(
    name: str,
    description: str,
    impls: dict[str, Callable[[], object]],
    *,
    rounds: int,
    budget: float,
    floor: str = "floor",
) -> CaseResult:
    """Time each ``impls[k]()`` call, interleaved; ``budget`` seconds per measurement."""
    # Warm up every implementation, and find how many calls fill the budget.
    per_call = {}
    for impl in impls.values():
        impl()
    for key, impl in impls.items():
        start = time.perf_counter()
        calls = 0
        while time.perf_counter() - start < max(budget, 0.002):
            impl()
            calls += 1
        per_call[key] = (time.perf_counter() - start) / calls
    number = max(1, int(budget / max(per_call.values())))
    result = CaseResult(name, description, number, rounds, {key: [] for key in impls}, floor)
    keys = list(impls)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_index in range(rounds):
            shift = round_index % len(keys)
            for key in keys[shift:] + keys[:shift]:
                impl = impls[key]
                start = time.perf_counter()
                for _ in range(number):
                    impl()
                result.times[key].append((time.perf_counter() - start) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return result


# --------------------------------------------------------------------------------------
# minidl steps through the public API
# --------------------------------------------------------------------------------------
def sgd_update(lr: float) -> tuple[str, Callable[[list[minidl.Parameter]], None]]:
    """minidl.SGD's in-place step when it exists, else the plain loop (marked)."""
    sgd_class = getattr(minidl, "SGD", None)
    if sgd_class is not None:
        optimizer = sgd_class(learning_rate=lr)
        return "minidl.SGD", optimizer.step

    def loop(parameters: list[minidl.Parameter]) -> None:
        for p in parameters:
            p.value -= lr * p.grad

    return "update loop p.value -= lr * p.grad (minidl.SGD not there yet)", loop


class TinyMinidl:
    """The 2-2-1 explicit step: zero_grad, forward, loss, backward, optimizer step."""

    def __init__(self, x: Array, y: Array, lr: float) -> None:
        self.network = minidl.Network.from_node_weights(WEIGHTS_0, activation="relu")
        self.loss = minidl.MeanSquaredError()
        self.optimizer_name, self.update = sgd_update(lr)
        self.parameters = self.network.parameters()
        self.x, self.y = x, y

    def step(self) -> float:
        network, loss = self.network, self.loss
        network.zero_grad()
        value = loss.forward(network.forward(self.x), self.y)
        network.backward(loss.backward())
        self.update(self.parameters)
        return value

    def step_without_zero_grad(self) -> float:
        """minidl's own idiom: backward overwrites the gradients, nothing to clear."""
        network, loss = self.network, self.loss
        value = loss.forward(network.forward(self.x), self.y)
        network.backward(loss.backward())
        self.update(self.parameters)
        return value

    def weights(self) -> list[Array]:
        return [p.value for p in self.parameters]


def mlp_layers(weights: list[tuple[Array, Array]], dtype: Any) -> list[minidl.Layer]:
    """Dense-ReLU-Dense-ReLU-Dense with the given weights (copied into the layers)."""
    layers: list[minidl.Layer] = []
    for index, (w, b) in enumerate(weights):
        layers.append(minidl.Dense(w.shape[0], w.shape[1], weight_init=w, bias_init=b, dtype=dtype))
        if index < len(weights) - 1:
            layers.append(minidl.ReLU())
    return layers


class _StandInCrossEntropy(minidl.Loss):
    """Used only until minidl has a cross-entropy loss: mean -log p[label] after Softmax."""

    def forward(self, predicted: Array, actual: Any) -> float:
        rows = np.arange(predicted.shape[0])
        self._p, self._rows, self._labels = predicted, rows, actual
        return -float(np.log(predicted[rows, actual]).sum()) / predicted.shape[0]

    def backward(self) -> Array:
        grad = np.zeros_like(self._p)
        grad[self._rows, self._labels] = -1.0 / (self._p[self._rows, self._labels] * self._p.shape[0])
        return grad


def mlp_loss_and_head(for_fit: bool = False) -> tuple[str, minidl.Loss, list[minidl.Layer]]:
    """The cross-entropy loss for integer labels and the layers that end the network.

    The explicit step reads logits (``from_logits=True``, no Softmax layer): the fused
    softmax + cross-entropy gradient ``(p - onehot) / N`` through the public API. ``fit``
    gets the Keras-style network ending in Softmax, which it fuses with the loss.
    """
    sparse = getattr(minidl, "SparseCategoricalCrossEntropy", None)
    if sparse is not None:
        if for_fit:
            return "minidl.SparseCategoricalCrossEntropy after Softmax (fused by fit)", sparse(), \
                [minidl.Softmax()]
        return "minidl.SparseCategoricalCrossEntropy(from_logits=True)", sparse(from_logits=True), []
    return "stand-in cross-entropy after minidl.Softmax (no minidl cross-entropy yet)", \
        _StandInCrossEntropy(), [minidl.Softmax()]


class MLPMinidl:
    """The MLP explicit step through the public API."""

    def __init__(self, weights: list[tuple[Array, Array]], lr: float) -> None:
        self.loss_name, self.loss, head = mlp_loss_and_head()
        self.network = minidl.Network(mlp_layers(weights, np.float32) + head)
        self.optimizer_name, self.update = sgd_update(lr)
        self.parameters = self.network.parameters()

    def step(self, x: Array, labels: Array) -> float:
        network, loss = self.network, self.loss
        network.zero_grad()
        value = loss.forward(network.forward(x), labels)
        network.backward(loss.backward())
        self.update(self.parameters)
        return value

    def step_without_zero_grad(self, x: Array, labels: Array) -> float:
        """minidl's own idiom: backward overwrites the gradients, nothing to clear."""
        network, loss = self.network, self.loss
        value = loss.forward(network.forward(x), labels)
        network.backward(loss.backward())
        self.update(self.parameters)
        return value

    def weights(self) -> list[Array]:
        return [p.value for p in self.parameters]


# --------------------------------------------------------------------------------------
# PyTorch (optional)
# --------------------------------------------------------------------------------------
def torch_or_none(skip: bool) -> Any:
    """PyTorch, or None. Its OpenMP workers wait passively (``OMP_WAIT_POLICY=PASSIVE``
    unless set already): spinning workers of a two-thread run took the cores from the
    numpy that runs next in an interleaved round (the LeNet floor ran 5-25x slower)."""
    if skip:
        return None
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when torch's OpenMP starts
    try:
        import torch
    except ImportError:
        return None
    return torch


class TinyTorch:
    def __init__(self, torch: Any, x: Array, y: Array, lr: float) -> None:
        self.torch = torch
        nn = torch.nn
        w1 = np.array([WEIGHTS_0["node_0"], WEIGHTS_0["node_1"]], dtype=np.float64)  # (out, in)
        w2 = np.array([WEIGHTS_0["output"]], dtype=np.float64)
        first, second = nn.Linear(2, 2, bias=False).double(), nn.Linear(2, 1, bias=False).double()
        with torch.no_grad():
            first.weight.copy_(torch.from_numpy(w1))
            second.weight.copy_(torch.from_numpy(w2))
        self.model = nn.Sequential(first, nn.ReLU(), second, nn.ReLU())
        self.loss = nn.MSELoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def step(self) -> float:
        self.optimizer.zero_grad()
        loss = self.loss(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return 0.0

    def weights(self) -> list[Array]:
        return [p.detach().numpy().T for p in self.model.parameters()]


class MLPTorch:
    def __init__(self, torch: Any, weights: list[tuple[Array, Array]], lr: float) -> None:
        self.torch = torch
        nn = torch.nn
        layers: list[Any] = []
        for index, (w, b) in enumerate(weights):
            linear = nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if index < len(weights) - 1:
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        self.loss = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)

    def step(self, x: Any, labels: Any) -> float:
        self.optimizer.zero_grad()
        loss = self.loss(self.model(x), labels)
        loss.backward()
        self.optimizer.step()
        return 0.0

    def weights(self) -> list[Array]:
        out = []
        for p in self.model.parameters():
            a = p.detach().numpy()
            out.append(a.T if a.ndim == 2 else a)
        return out


# --------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------
def mlp_weights(seed: int = 0, sizes: tuple[int, ...] = MLP_SIZES) -> list[tuple[Array, Array]]:
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)
        b = rng.uniform(-0.1, 0.1, size=fan_out).astype(np.float32)
        weights.append((w, b))
    return weights


def mlp_data(n: int, seed: int = 1, sizes: tuple[int, ...] = MLP_SIZES) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], size=n)
    return x, labels


def check_same(name: str, reference: list[Array], other: list[Array], rtol: float) -> None:
    """Fail loudly if one step of an implementation does not match the floor's step."""
    for index, (a, b) in enumerate(zip(reference, other, strict=True)):
        if not np.allclose(a, b, rtol=rtol, atol=rtol * 1e-2):
            worst = float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b)))
            raise AssertionError(f"{name}: parameter {index} differs from the floor after one step "
                                 f"(max abs difference {worst:g})")


def tiny_case(rounds: int, budget: float, torch: Any, notes: list[str]) -> CaseResult:
    x = np.array([0.0, 3.0])
    y = np.array([3.0])
    w1 = np.array([WEIGHTS_0["node_0"], WEIGHTS_0["node_1"]], dtype=np.float64).T
    w2 = np.array([WEIGHTS_0["output"]], dtype=np.float64).T

    def fresh() -> dict[str, Any]:
        impls: dict[str, Any] = {
            "floor": TinyFloor(w1, w2, x, y, TINY_LR),
            "loose floor": LooseTinyFloor(w1, w2, x, y, TINY_LR),
            "minidl": TinyMinidl(x, y, TINY_LR),
        }
        if torch is not None:
            impls["torch"] = TinyTorch(torch, x, y, TINY_LR)
        return impls

    checked = fresh()
    for impl in checked.values():
        impl.step()
    reference = checked["floor"].parameters()
    check_same("loose floor", reference, checked["loose floor"].parameters(), 1e-12)
    check_same("minidl", reference, checked["minidl"].weights(), 1e-12)
    if torch is not None:
        check_same("torch", reference, checked["torch"].weights(), 1e-12)
    notes.append(f"tiny: minidl optimizer = {checked['minidl'].optimizer_name}")
    impls = fresh()
    steps = {key: impl.step for key, impl in impls.items()}
    steps["minidl -zg"] = TinyMinidl(x, y, TINY_LR).step_without_zero_grad
    return time_interleaved(
        "tiny", "2-2-1 ReLU, one float64 sample, explicit step",
        steps, rounds=rounds, budget=budget,
    )


def mlp_case(batch: int, rounds: int, budget: float, torch: Any, notes: list[str]) -> CaseResult:
    weights = mlp_weights()
    x, labels = mlp_data(batch)
    floor, floor_dx = MLPFloor(weights, MLP_LR), MLPFloor(weights, MLP_LR, with_input_grad=True)
    ours, ours_no_zero = MLPMinidl(weights, MLP_LR), MLPMinidl(weights, MLP_LR)
    floor.step(x, labels)
    ours.step(x, labels)
    check_same("minidl", floor.parameters(), ours.weights(), 1e-4)
    if batch == 1:
        notes.append(f"mlp: minidl loss = {ours.loss_name}; optimizer = {ours.optimizer_name}")
    impls: dict[str, Callable[[], object]] = {
        "floor": lambda: floor.step(x, labels),
        "floor + dx": lambda: floor_dx.step(x, labels),
        "minidl": lambda: ours.step(x, labels),
        "minidl -zg": lambda: ours_no_zero.step_without_zero_grad(x, labels),
    }
    if torch is not None:
        theirs = MLPTorch(torch, weights, MLP_LR)
        tx, tl = torch.from_numpy(x), torch.from_numpy(labels)
        check_floor = MLPFloor(weights, MLP_LR)
        check_floor.step(x, labels)
        theirs.step(tx, tl)
        check_same("torch", check_floor.parameters(), theirs.weights(), 1e-4)
        impls["torch"] = lambda: theirs.step(tx, tl)
    return time_interleaved(
        f"mlp-{batch}", f"784-256-128-10 MLP, float32 batch of {batch}, explicit step",
        impls, rounds=rounds, budget=budget,
    )


def has_fit() -> bool:
    return hasattr(minidl.Network, "fit") and hasattr(minidl.Network, "compile")


def compiled_network(weights: list[tuple[Array, Array]], lr: float = MLP_LR) -> minidl.Network:
    _, loss, head = mlp_loss_and_head(for_fit=True)
    network = minidl.Network(mlp_layers(weights, np.float32) + head)
    network.compile(loss=loss, optimizer=minidl.SGD(learning_rate=lr))
    return network


FIT_EPOCHS = 3


def fit_case(batch: int, batches: int, rounds: int, budget: float, notes: list[str]) -> CaseResult | None:
    """``fit`` for FIT_EPOCHS epochs against the plain loop; the time is per batch.

    Each call includes fit's once-per-call work (checking and converting the data,
    setting up callbacks), spread over ``FIT_EPOCHS * batches`` steps.
    """
    if not has_fit():
        notes.append("fit: Network.fit is not there yet; not measured")
        return None
    weights = mlp_weights()
    x, labels = mlp_data(batch * batches)
    # First check that fit takes the same steps as the plain loop (no shuffling here).
    floor, network = MLPFloor(weights, MLP_LR), compiled_network(weights)
    floor_fit(floor, x, labels, batch_size=batch, epochs=1, seed=0, shuffle=False)
    network.fit(x, labels, epochs=1, batch_size=batch, verbose=0, shuffle=False)
    check_same("minidl fit", floor.parameters(), [p.value for p in network.parameters()], 1e-3)
    floor, network = MLPFloor(weights, MLP_LR), compiled_network(weights)

    def run_floor() -> None:
        floor_fit(floor, x, labels, batch_size=batch, epochs=FIT_EPOCHS, seed=0)

    def run_fit() -> None:
        network.fit(x, labels, epochs=FIT_EPOCHS, batch_size=batch, verbose=0, seed=0)

    result = time_interleaved(
        f"fit-{batch}",
        f"MLP fit, {FIT_EPOCHS} epochs of {batches} batches of {batch} float32 samples, per batch",
        {"floor": run_floor, "minidl fit": run_fit}, rounds=rounds, budget=budget,
    )
    for key in result.times:
        result.times[key] = [t / (batches * FIT_EPOCHS) for t in result.times[key]]
    return result


def torch_fit(model: MLPTorch, x: Any, labels: Any, *, batch_size: int, epochs: int, seed: int) -> None:
    """PyTorch's plain loop over the same batches as ``floor_fit``: numpy's permutation, gathered by index."""
    torch, rng, n = model.torch, np.random.default_rng(seed), len(x)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            model.step(x[index], labels[index])


def small_case(rounds: int, budget: float, torch: Any, samples: int = SMALL_SAMPLES) -> CaseResult:
    """``fit`` of the digits-sized 64-50-50-10 MLP against the plain loop (and PyTorch's), per batch.

    All shuffle the same way (one ``default_rng(0)`` permutation per epoch, each batch
    gathered through it); one epoch of each is first checked to end at the floor's weights.
    """
    weights = mlp_weights(sizes=SMALL_SIZES)
    x, labels = mlp_data(samples, sizes=SMALL_SIZES)
    batch, epochs = SMALL_BATCH, SMALL_EPOCHS
    floor, network = MLPFloor(weights, SMALL_LR), compiled_network(weights, SMALL_LR)
    floor_fit(floor, x, labels, batch_size=batch, epochs=1, seed=0)
    network.fit(x, labels, epochs=1, batch_size=batch, verbose=0, seed=0)
    check_same("minidl fit", floor.parameters(), [p.value for p in network.parameters()], 1e-4)
    floor, network = MLPFloor(weights, SMALL_LR), compiled_network(weights, SMALL_LR)
    impls: dict[str, Callable[[], object]] = {
        "floor": lambda: floor_fit(floor, x, labels, batch_size=batch, epochs=epochs, seed=0),
        "minidl fit": lambda: network.fit(x, labels, epochs=epochs, batch_size=batch, verbose=0, seed=0),
    }
    if torch is not None:
        tx, tl = torch.from_numpy(x), torch.from_numpy(labels)
        check_floor, checked = MLPFloor(weights, SMALL_LR), MLPTorch(torch, weights, SMALL_LR)
        floor_fit(check_floor, x, labels, batch_size=batch, epochs=1, seed=0)
        torch_fit(checked, tx, tl, batch_size=batch, epochs=1, seed=0)
        check_same("torch", check_floor.parameters(), checked.weights(), 1e-4)
        theirs = MLPTorch(torch, weights, SMALL_LR)
        impls["torch"] = lambda: torch_fit(theirs, tx, tl, batch_size=batch, epochs=epochs, seed=0)
    steps = epochs * -(-samples // batch)
    result = time_interleaved(
        "small", f"64-50-50-10 MLP fit, {epochs} epochs of {steps // epochs} shuffled batches of {batch} "
        "float32 samples, per batch", impls, rounds=rounds, budget=budget)
    for key in result.times:
        result.times[key] = [t / steps for t in result.times[key]]
    return result


def memory_case(batch: int, batches: int, notes: list[str]) -> dict[str, Any] | None:
    """Peak traced memory during one epoch of fit, against what it must hold."""
    if not has_fit():
        return None
    weights = mlp_weights()
    gc.collect()
    tracemalloc.start()
    x, labels = mlp_data(batch * batches)
    network = compiled_network(weights)
    network.fit(x[:batch], labels[:batch], epochs=1, batch_size=batch, verbose=0, seed=0)
    gc.collect()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    network.fit(x, labels, epochs=1, batch_size=batch, verbose=0, seed=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    parameters = sum(p.value.nbytes for p in network.parameters())
    widths = MLP_SIZES[1:]
    # forward: each Dense output, each ReLU output, the softmax output; backward: the
    # largest gradient in flight (two at once at a layer boundary).
    activations = batch * 4 * (2 * sum(widths[:-1]) + 2 * widths[-1] + 2 * max(widths))
    required = {
        "data": x.nbytes + labels.nbytes,
        "parameters": parameters,
        "gradients": parameters,
        "optimizer state": 0,
        "activations": activations,
    }
    must_hold = sum(required.values())
    # Tracing started before the data and the network were made, so the peak counts them.
    return {"batch": batch, "samples": batch * batches, "peak_bytes": peak, "must_hold_bytes": must_hold,
            "ratio": peak / must_hold, "breakdown": required, "before_fit_bytes": before}


# --------------------------------------------------------------------------------------
# LeNet
# --------------------------------------------------------------------------------------
LENET_LR = 1e-2
LENET_BATCHES = (8, 64, 256)
LENET_MEMORY_TARGET = 1.3


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory in the process; False where that is not possible.

    By default glibc gives the top of its heap back to the system when it is freed, and
    serves large arrays with fresh ``mmap`` pages. The LeNet floor frees all its arrays
    (tens of MB at batch 256) at the end of every step, so each step then page-faults them
    in again, which cost it 30-40% here; minidl's layers keep their last arrays until the
    next step, so the ratio measured the allocator more than the code. With the memory
    kept (``M_TRIM_THRESHOLD`` 1 GiB, ``M_MMAP_THRESHOLD`` 32 MiB, the most glibc takes),
    both sides run the same arithmetic on warm pages. ``--default-malloc`` skips this.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_trim_threshold, 2**30)) and bool(mallopt(m_mmap_threshold, 2**25))


def lenet_weights(seed: int = 0) -> list[tuple[Array, Array]]:
    """Glorot-uniform weights for the LeNet floor: conv ``(out, in, 5, 5)``, Dense ``(in, out)``."""
    rng = np.random.default_rng(seed)
    shapes = [(6, 1, 5, 5), (16, 6, 5, 5), (400, 120), (120, 84), (84, 10)]
    weights = []
    for shape in shapes:
        if len(shape) == 4:
            fan_in, fan_out = shape[1] * 25, shape[0] * 25
            bias = shape[0]
        else:
            fan_in, fan_out = shape
            bias = shape[1]
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append((rng.uniform(-limit, limit, size=shape).astype(np.float32),
                        rng.uniform(-0.1, 0.1, size=bias).astype(np.float32)))
    return weights


def lenet_data(n: int, seed: int = 1) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, size=n)


def lenet_network(weights: list[tuple[Array, Array]], lr: float = LENET_LR) -> minidl.Network:
    """The network as a user writes it, compiled with SGD and the sparse cross-entropy (fused)."""
    (k1, c1), (k2, c2), (w3, b3), (w4, b4), (w5, b5) = weights
    f32 = np.float32
    network = minidl.Network([
        minidl.Conv2D(1, 6, 5, padding=2, weight_init=k1, bias_init=c1, dtype=f32),
        minidl.ReLU(),
        minidl.MaxPool2D(2),
        minidl.Conv2D(6, 16, 5, weight_init=k2, bias_init=c2, dtype=f32),
        minidl.ReLU(),
        minidl.MaxPool2D(2),
        minidl.Flatten(),
        minidl.Dense(400, 120, weight_init=w3, bias_init=b3, dtype=f32),
        minidl.ReLU(),
        minidl.Dense(120, 84, weight_init=w4, bias_init=b4, dtype=f32),
        minidl.ReLU(),
        minidl.Dense(84, 10, weight_init=w5, bias_init=b5, dtype=f32),
        minidl.Softmax(),
    ])
    network.compile(optimizer=minidl.SGD(learning_rate=lr), loss="sparse_categorical_crossentropy")
    return network


class LeNetTorch:
    def __init__(self, torch: Any, weights: list[tuple[Array, Array]], lr: float) -> None:
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        layers = [m for m in self.model if isinstance(m, (nn.Conv2d, nn.Linear))]
        with torch.no_grad():
            for layer, (w, b) in zip(layers, weights, strict=True):
                layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w if w.ndim == 4 else w.T)))
                layer.bias.copy_(torch.from_numpy(b))
        self.loss = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)

    step = MLPTorch.step  # the same zero_grad, loss, backward, step

    def weights(self) -> list[Array]:
        return [p.detach().numpy().T if p.ndim == 2 else p.detach().numpy() for p in self.model.parameters()]


def lenet_case(batch: int, rounds: int, budget: float, torch: Any, notes: list[str]) -> CaseResult:
    weights = lenet_weights()
    x, labels = lenet_data(batch)
    floor, ours = LeNetFloor(weights, LENET_LR), lenet_network(weights)
    floor.step(x, labels)
    ours.train_step(x, labels)
    check_same("minidl", floor.parameters(), [p.value for p in ours.parameters()], 1e-4)
    floor, ours = LeNetFloor(weights, LENET_LR), lenet_network(weights)
    impls: dict[str, Callable[[], object]] = {
        "floor": lambda: floor.step(x, labels),
        "minidl": lambda: ours.train_step(x, labels),
    }
    if torch is not None:
        tx, tl = torch.from_numpy(x), torch.from_numpy(labels)
        check_floor, checked = LeNetFloor(weights, LENET_LR), LeNetTorch(torch, weights, LENET_LR)
        check_floor.step(x, labels)
        checked.step(tx, tl)
        check_same("torch", check_floor.parameters(), checked.weights(), 1e-4)
        one, two = LeNetTorch(torch, weights, LENET_LR), LeNetTorch(torch, weights, LENET_LR)
        threads = torch.get_num_threads()

        def torch_two_threads() -> None:
            torch.set_num_threads(2)
            two.step(tx, tl)
            torch.set_num_threads(threads)

        impls["torch"] = lambda: one.step(tx, tl)
        impls["torch x2"] = torch_two_threads
    return time_interleaved(
        f"lenet-{batch}", f"LeNet-5-like CNN, float32 batch of {batch} 1x28x28 images, train_step",
        impls, rounds=rounds, budget=budget,
    )


def lenet_activation_bytes(batch: int) -> dict[str, int]:
    """What one LeNet step must hold beyond the parameters, in float32 bytes.

    Forward: each convolution's im2col columns (its backward needs them for dL/dW), every
    layer's output (each ReLU's and pooling's input is needed by its backward); backward:
    the largest set in flight at once, the second convolution's dL/dcols with the
    gradients on both sides of it.
    """
    per_sample = {
        "im2col columns": 25 * 28 * 28 + 150 * 10 * 10,
        "layer outputs": 2 * 6 * 28 * 28 + 6 * 14 * 14 + 2 * 16 * 10 * 10 + 16 * 5 * 5
        + 2 * 120 + 2 * 84 + 2 * 10,
        "gradients in flight": 150 * 10 * 10 + 16 * 10 * 10 + 6 * 14 * 14,
    }
    return {key: 4 * batch * value for key, value in per_sample.items()}


def lenet_memory_case(batch: int, batches: int) -> dict[str, Any]:
    """Peak traced memory during one epoch of LeNet's fit, against what it must hold."""
    weights = lenet_weights()
    gc.collect()
    tracemalloc.start()
    x, labels = lenet_data(batch * batches)
    network = lenet_network(weights)
    network.fit(x[:batch], labels[:batch], epochs=1, batch_size=batch, verbose=0, seed=0)
    gc.collect()
    tracemalloc.reset_peak()
    network.fit(x, labels, epochs=1, batch_size=batch, verbose=0, seed=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    parameters = sum(p.value.nbytes for p in network.parameters())
    required = {"data": x.nbytes + labels.nbytes, "parameters": parameters, "gradients": parameters,
                "optimizer state": 0, **lenet_activation_bytes(batch)}
    must_hold = sum(required.values())
    return {"batch": batch, "samples": batch * batches, "peak_bytes": peak, "must_hold_bytes": must_hold,
            "ratio": peak / must_hold, "breakdown": required}


def print_memory(name: str, memory: dict[str, Any], target: float) -> None:
    print(f"\n{name}: fit on {memory['samples']} samples, batch {memory['batch']}, traced by tracemalloc")
    print(f"  peak {memory['peak_bytes'] / 2**20:.2f} MiB; must hold "
          f"{memory['must_hold_bytes'] / 2**20:.2f} MiB "
          f"({', '.join(f'{k} {v / 2**20:.2f}' for k, v in memory['breakdown'].items())}): "
          f"x{memory['ratio']:.2f} (target <= {target}): {'met' if memory['ratio'] <= target else 'NOT met'}")


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def format_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    return f"{seconds * 1e3:8.3f} ms"


def print_case(result: CaseResult) -> None:
    print(f"\n{result.name}: {result.description}")
    if any(key.endswith("-zg") for key in result.times):
        print("  (minidl -zg: the same step without zero_grad, which minidl does not need)")
    print(f"  ({result.rounds} rounds x {result.number} calls, interleaved; median per call)")
    for impl in result.times:
        line = f"  {impl:<12} {format_time(result.median(impl))}   x{result.ratio(impl):5.2f} floor"
        if "floor + dx" in result.times and impl not in ("floor", "floor + dx"):
            line += f"   x{result.ratio(impl, 'floor + dx'):5.2f} floor + dx"
        print(line)


def target_lines(results: dict[str, CaseResult]) -> list[str]:
    lines = []
    for case, (impl, base, limit) in TARGETS.items():
        result = results.get(case)
        if result is None:
            lines.append(f"  {case:<8} target <= {limit:g}x: not measured")
            continue
        ratio = result.ratio(impl, base)
        verdict = "met" if ratio <= limit else f"NOT met, {(ratio / limit - 1) * 100:.1f}% over"
        lines.append(f"  {case:<8} {impl} / {base}: x{ratio:.2f} (target <= {limit:g}): {verdict}")
    return lines


def markdown_table(results: dict[str, CaseResult], memory: dict[str, Any] | None) -> str:
    """The README's table: time per step and ratios, one row per case."""
    lines = [
        "| case | floor | minidl | minidl / floor | minidl / (floor + dx) | minidl without zero_grad "
        "/ (floor + dx) | PyTorch / floor |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        ours = "minidl fit" if "minidl fit" in result.times else "minidl"
        has_dx = "floor + dx" in result.times
        cells = [
            name,
            format_time(result.median("floor")).strip(),
            format_time(result.median(ours)).strip(),
            f"{result.ratio(ours):.2f}",
            f"{result.ratio(ours, 'floor + dx'):.2f}" if has_dx else "",
            f"{result.ratio('minidl -zg', 'floor + dx' if has_dx else 'floor'):.2f}"
            if "minidl -zg" in result.times else "",
            f"{result.ratio('torch'):.2f}" if "torch" in result.times else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if memory is not None:
        lines.append(
            f"| memory (fit) | {memory['must_hold_bytes'] / 2**20:.1f} MiB must be held | "
            f"{memory['peak_bytes'] / 2**20:.1f} MiB peak | {memory['ratio']:.2f} | | | |"
        )
    return "\n".join(lines)


def lenet_markdown_table(results: dict[str, CaseResult], memory: dict[str, Any]) -> str:
    """The README's LeNet table: ratios to the floor per batch size, then the memory ratio."""
    lines = ["| case | floor | minidl | minidl / floor | PyTorch 1 thread / floor "
             "| PyTorch 2 threads / floor |", "|---|---|---|---|---|---|"]
    for name, result in results.items():
        if not name.startswith("lenet"):
            continue
        cells = [name, *(format_time(result.median(key)).strip() for key in ("floor", "minidl")),
                 f"{result.ratio('minidl'):.2f}"]
        cells += [f"{result.ratio(key):.2f}" if key in result.times else "" for key in ("torch", "torch x2")]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"| lenet-memory (fit, batch {memory['batch']}) | "
                 f"{memory['must_hold_bytes'] / 2**20:.1f} MiB must be held | "
                 f"{memory['peak_bytes'] / 2**20:.1f} MiB peak | {memory['ratio']:.2f} | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, to check that it runs")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per case (default 31, quick 3)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch's intra-op threads (default 1: see benchmarks/README.md)")
    parser.add_argument("--only", default=None,
                        help="comma-separated cases: tiny,small,mlp,fit,memory,lenet")
    parser.add_argument("--default-malloc", action="store_true",
                        help="lenet: leave glibc's malloc as it is (see keep_freed_memory)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="also print the results as a Markdown table")
    args = parser.parse_args(argv)

    rounds = args.rounds or (3 if args.quick else 31)
    budget = 0.002 if args.quick else 0.02
    fit_batches = 4 if args.quick else 40
    only = set(args.only.split(",")) if args.only else {"tiny", "small", "mlp", "fit", "memory", "lenet"}
    torch = torch_or_none(args.no_torch)
    if torch is not None:
        torch.set_num_threads(args.torch_threads)

    info = machine_info()
    print("minidl benchmark: one training step, against the hand-written numpy floor")
    for key, value in info.items():
        print(f"  {key}: {value}")
    print(f"  torch: {torch.__version__ if torch is not None else 'not measured'}")
    if torch is not None:
        print(f"  torch threads: {torch.get_num_threads()}")

    notes: list[str] = []
    results: dict[str, CaseResult] = {}
    if "tiny" in only:
        results["tiny"] = tiny_case(rounds, budget, torch, notes)
        print_case(results["tiny"])
    if "small" in only:
        results["small"] = small_case(rounds, budget * 2, torch, 320 if args.quick else SMALL_SAMPLES)
        print_case(results["small"])
    if "mlp" in only:
        for batch in (1, 32, 128):
            results[f"mlp-{batch}"] = mlp_case(batch, rounds, budget * 2, torch, notes)
            print_case(results[f"mlp-{batch}"])
    if "fit" in only:
        fit = fit_case(128, fit_batches, max(3, rounds // 3), budget * 10, notes)
        if fit is not None:
            results["fit-128"] = fit
            print_case(fit)
    memory = memory_case(128, fit_batches, notes) if "memory" in only else None
    if memory is not None:
        print_memory("memory", memory, 1.2)
    lenet_memory = None
    if "lenet" in only:
        kept = not args.default_malloc and keep_freed_memory()
        notes.append("lenet: glibc malloc " + ("keeps freed memory (keep_freed_memory)" if kept else
                                               "as it is: freed memory goes back to the system"))
        for batch in LENET_BATCHES:
            results[f"lenet-{batch}"] = lenet_case(batch, rounds, budget * 2, torch, notes)
            print_case(results[f"lenet-{batch}"])
        lenet_memory = lenet_memory_case(64, fit_batches)
        print_memory("lenet-memory", lenet_memory, LENET_MEMORY_TARGET)

    print("\ntargets (ratios measured in this run):")
    for line in target_lines(results):
        print(line)
    for note in notes:
        print(f"  note: {note}")
    if args.markdown:
        print()
        others = {k: r for k, r in results.items() if not k.startswith("lenet")}
        if others or memory is not None:
            print(markdown_table(others, memory))
        if lenet_memory is not None:
            print()
            print(lenet_markdown_table(results, lenet_memory))

    if args.json:
        payload = {
            "machine": info,
            "torch": getattr(torch, "__version__", None),
            "cases": {name: {"times": r.times, "number": r.number, "rounds": r.rounds,
                             "median": {k: r.median(k) for k in r.times},
                             "ratio": {k: r.ratio(k) for k in r.times}}
                      for name, r in results.items()},
            "memory": memory,
            "lenet_memory": lenet_memory,
            "notes": notes,
        }
        Path(args.json).write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
