"""Where the time of one training step goes, call by call, against the raw numpy it wraps.

Run from the repository root::

    python benchmarks/breakdown.py            # the 2-2-1 step and the MLP at batch 1, 32, 128
    python benchmarks/breakdown.py mlp-32     # one case: tiny, small, mlp-1, mlp-32 or mlp-128

For every call of minidl's explicit step (``zero_grad``, each layer's ``forward`` and
``backward``, the loss, the optimizer) it prints the time per call (best of several
repeats, so the machine's slow phases drop out) next to the time of the bare numpy
expression the call computes, as a hand-written floor would write it. The difference
is what the abstraction costs for that call.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # the benchmark's builders

import minidl

Row = tuple[str, Callable[[], object], Callable[[], object] | None]


def best(function: Callable[[], object], budget: float = 0.05) -> float:
    """Best time per call over 7 repeats of about ``budget`` seconds each."""
    number = 1
    while True:
        elapsed = timeit.timeit(function, number=number)
        if elapsed > budget / 5 or number > 1_000_000:
            break
        number *= 4
    number = max(1, int(number * budget / max(elapsed, 1e-9)))
    return min(timeit.repeat(function, number=number, repeat=7)) / number


def layer_rows(network: minidl.Network, x: Any, grad_out: Any) -> list[Row]:
    """Each layer's forward and backward, with the raw numpy of the same computation.

    Layers take batches: one sample ``(features,)`` is timed as a batch of one, as
    ``Network.forward`` hands it to them.
    """
    if np.ndim(x) == 1:
        x, grad_out = x[None], grad_out[None]
    inputs = [x]
    for layer in network.layers:
        inputs.append(layer.forward(inputs[-1]))
    grads = [grad_out]
    for layer in reversed(network.layers):
        grads.append(layer.backward(grads[-1]))
    grads.reverse()  # grads[i] is dL/d(input of layer i); grads[i + 1] the layer's output gradient
    rows: list[Row] = []
    for index, layer in enumerate(network.layers):
        xi, gy = inputs[index], grads[index + 1]
        # Run forward again so the layer caches this input before its backward is timed.
        layer.forward(xi)
        if isinstance(layer, minidl.Dense):
            w = layer.weight.value
            b = layer.bias.value if layer.bias is not None else None

            def raw_forward(xi: Any = xi, w: Any = w, b: Any = b) -> object:
                y = xi @ w
                if b is not None:
                    y += b
                return y

            def raw_backward(xi: Any = xi, gy: Any = gy, w: Any = w) -> object:
                gw = np.multiply.outer(xi[0], gy[0]) if xi.ndim == 2 and xi.shape[0] == 1 else (
                    np.multiply.outer(xi, gy) if xi.ndim == 1 else xi.T @ gy)
                gb = gy.sum(axis=0) if gy.ndim == 2 else gy
                return gw, gb, gy @ w.T

            rows.append((f"{layer.name}.forward", lambda layer=layer, xi=xi: layer.forward(xi),
                         raw_forward))
            rows.append((f"{layer.name}.backward", lambda layer=layer, gy=gy: layer.backward(gy),
                         raw_backward))
        elif isinstance(layer, minidl.ReLU):
            rows.append((f"{layer.name}.forward", lambda layer=layer, xi=xi: layer.forward(xi),
                         lambda xi=xi: np.maximum(xi, 0.0)))
            rows.append((f"{layer.name}.backward", lambda layer=layer, gy=gy: layer.backward(gy),
                         lambda xi=xi, gy=gy: gy * (xi > 0.0)))
        else:
            rows.append((f"{layer.name}.forward", lambda layer=layer, xi=xi: layer.forward(xi), None))
            rows.append((f"{layer.name}.backward", lambda layer=layer, gy=gy: layer.backward(gy), None))
    return rows


def print_rows(title: str, rows: list[Row], whole: list[tuple[str, Callable[[], object]]]) -> None:
    print(f"\n{title}")
    print(f"  {'call':<28}{'minidl':>10}{'raw numpy':>12}{'overhead':>11}")
    total_ours = total_raw = 0.0
    for label, ours, raw in rows:
        t_ours = best(ours)
        t_raw = best(raw) if raw is not None else float("nan")
        total_ours += t_ours
        if raw is not None:
            total_raw += t_raw
        raw_text = f"{t_raw * 1e6:9.2f}us" if raw is not None else f"{'-':>11}"
        over = f"{(t_ours - t_raw) * 1e6:+8.2f}us" if raw is not None else ""
        print(f"  {label:<28}{t_ours * 1e6:8.2f}us {raw_text}{over:>11}")
    print(f"  {'sum of the calls':<28}{total_ours * 1e6:8.2f}us {total_raw * 1e6:9.2f}us")
    for label, function in whole:
        print(f"  {label:<28}{best(function) * 1e6:8.2f}us")


def profile_tiny() -> None:
    x, y = np.array([0.0, 3.0]), np.array([3.0])
    ours = run.TinyMinidl(x, y, run.TINY_LR)
    network, loss = ours.network, ours.loss
    out = network.forward(x)
    loss.forward(out, y)
    grad = loss.backward()
    w1 = np.array([[2.0, 1.0], [1.0, 2.0]])
    w2 = np.array([[1.0], [1.0]])
    floor = run.TinyFloor(w1, w2, x, y, run.TINY_LR)
    params = network.parameters()
    dtype = network.dtype
    rows: list[Row] = [
        ("network.zero_grad", network.zero_grad, None),
        ("input check (as_float_array)",
         lambda: minidl._validation.as_float_array(x, "x", dtype=dtype), None),
        *layer_rows(network, x, grad),
        ("loss.forward", lambda: loss.forward(out, y), lambda: float(np.vdot(out - y, out - y)) / 1),
        ("loss.backward", loss.backward, lambda: (out - y) * 2.0),
        (f"optimizer ({ours.optimizer_name.split(' ')[0]})", lambda: ours.update(params),
         lambda: [np.subtract(p.value, 1e-4 * p.grad, out=p.value) for p in params]),
    ]
    print_rows("tiny: 2-2-1 ReLU, one float64 sample", rows, [
        ("network.forward (whole)", lambda: network.forward(x)),
        ("network.backward (whole)", lambda: network.backward(grad)),
        ("minidl step (whole)", ours.step),
        ("floor step (whole)", floor.step),
    ])


def profile_mlp(batch: int) -> None:
    weights = run.mlp_weights()
    x, labels = run.mlp_data(batch)
    ours = run.MLPMinidl(weights, run.MLP_LR)
    network, loss = ours.network, ours.loss
    out = network.forward(x)
    loss.forward(out, labels)
    grad = loss.backward()
    params = network.parameters()
    floor = run.MLPFloor(weights, run.MLP_LR)
    floor_dx = run.MLPFloor(weights, run.MLP_LR, with_input_grad=True)
    rows_index = np.arange(batch)

    def raw_loss() -> object:
        z = out - out.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        value = -float(np.log(p[rows_index, labels]).sum()) / batch
        p[rows_index, labels] -= 1.0
        p *= 1.0 / batch
        return value

    rows: list[Row] = [
        ("network.zero_grad", network.zero_grad, None),
        ("input check (as_float_array)",
         lambda: minidl._validation.as_float_array(x, "x", dtype=network.dtype), None),
        *layer_rows(network, x, grad),
        ("loss.forward + backward", lambda: (loss.forward(out, labels), loss.backward()), raw_loss),
        (f"optimizer ({ours.optimizer_name.split(' ')[0]})", lambda: ours.update(params),
         lambda: [np.subtract(p.value, run.MLP_LR * p.grad, out=p.value) for p in params]),
    ]
    print_rows(f"mlp-{batch}: 784-256-128-10, float32 batch of {batch} ({ours.loss_name})", rows, [
        ("network.forward (whole)", lambda: network.forward(x)),
        ("network.backward (whole)", lambda: network.backward(grad)),
        ("minidl step (whole)", lambda: ours.step(x, labels)),
        ("floor step (whole)", lambda: floor.step(x, labels)),
        ("floor + dx step (whole)", lambda: floor_dx.step(x, labels)),
    ])


def profile_small() -> None:
    """fit's loop on the 64-50-50-10 MLP, batch 32: each per-batch piece, against the floor's numpy."""
    from minidl.training.data import Batches
    from minidl.training.step import StepPlan, step
    from minidl.training.trainer import RunningMeans

    weights = run.mlp_weights(sizes=run.SMALL_SIZES)
    x, labels = run.mlp_data(run.SMALL_SAMPLES, sizes=run.SMALL_SIZES)
    network = run.compiled_network(weights, run.SMALL_LR)
    loss, optimizer = network.trainer.loss, network.trainer.optimizer
    plan, xb, yb = StepPlan(network, loss), x[:32].copy(), labels[:32].copy()
    step(plan, xb, yb, checked=True)
    output = plan.head.forward(xb)
    logits, params = plan.head.logits, plan.parameters
    batches = Batches(network, x, labels, 32, np.random.default_rng(0))
    order, means = np.random.default_rng(0).permutation(len(x)), RunningMeans({})
    floor = run.MLPFloor(weights, run.SMALL_LR)
    per_epoch = len(batches)
    rows: list[Row] = [
        ("Batches (gather, per batch)", lambda: [None for _ in batches],
         lambda: [(x[order[i:i + 32]], labels[order[i:i + 32]]) for i in range(0, len(x), 32)]),
        ("chain forward (fused)", lambda: plan.head.forward(xb), None),
        ("loss.logits_loss", lambda: loss.logits_loss(logits, yb, output), None),
        ("  check_target (not per batch)", lambda: loss.check_target(logits, yb, "fit y"), None),
        ("loss.backward", loss.backward, None),
        ("chain backward_parameters", lambda: plan.head.backward_parameters(loss.backward()), None),
        ("optimizer.step (SGD)", lambda: optimizer.step(params),
         lambda: [np.subtract(p.value, run.SMALL_LR * p.grad, out=p.value) for p in params]),
        ("RunningMeans.add", lambda: means.add(1.0, output, yb), None),
    ]
    print("\nsmall: fit of the 64-50-50-10 MLP, float32 batch of 32 (the Batches row: a whole epoch of "
          f"{per_epoch} batches)")
    print_rows("per-batch pieces of fit's loop", rows, [
        ("minidl step (checked=True)", lambda: step(plan, xb, yb, checked=True)),
        ("floor step", lambda: floor.step(xb, yb)),
        ("minidl fit, one epoch", lambda: network.fit(x, labels, epochs=1, batch_size=32, verbose=0, seed=0)),
    ])
    print(f"  (the last row is per epoch: divide by {per_epoch})")


def main(argv: list[str]) -> int:
    cases = argv or ["tiny", "small", "mlp-1", "mlp-32", "mlp-128"]
    print(f"numpy {np.__version__}; best of 7 repeats per call")
    for case in cases:
        if case == "tiny":
            profile_tiny()
        elif case == "small":
            profile_small()
        elif case.startswith("mlp-"):
            profile_mlp(int(case.split("-", 1)[1]))
        else:
            raise SystemExit(f"unknown case {case!r}; expected tiny, small, mlp-1, mlp-32 or mlp-128")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
