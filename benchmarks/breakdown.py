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
    """Where a batch of ``run.py``'s small case goes: fit against ``floor_fit``, piece by piece.

    Both sides are cut into the same pieces, each timed alone on one batch: the gather, the
    forward (the floor's softmax counted with it, as minidl's Softmax layer), the loss and
    ``dL/dlogits``, the backward, the update. Then an epoch of each, and a 3-epoch ``fit``
    (run.py's), per batch: their difference is what ``fit`` does once per call and per epoch.
    """
    from minidl.training.callbacks import CallbackList, History, progress_for
    from minidl.training.interrupts import InterruptGuard
    from minidl.training.step import StepPlan
    from minidl.training.trainer import NonFiniteRecovery

    weights = run.mlp_weights(sizes=run.SMALL_SIZES)
    x, labels = run.mlp_data(run.SMALL_SAMPLES, sizes=run.SMALL_SIZES)
    batch, epochs, lr = run.SMALL_BATCH, run.SMALL_EPOCHS, run.SMALL_LR
    network = run.compiled_network(weights, lr)
    trainer = network.trainer
    assert trainer is not None
    loss, optimizer = trainer.loss, trainer.optimizer
    plan, xb, yb = StepPlan(network, loss), x[:batch].copy(), labels[:batch].copy()
    output = plan.head.forward(xb)
    loss.logits_loss(plan.head.logits, yb, output)
    plan.head.backward_parameters(loss.backward())
    params = plan.parameters
    batches = minidl.training.data.Batches(network, x, labels, batch, np.random.default_rng(0))
    steps = len(batches)
    guard, recovery = InterruptGuard(), NonFiniteRecovery(trainer, params)
    callbacks = CallbackList(None, History(), progress_for(0))

    def minidl_loss() -> object:
        return loss.logits_loss(plan.head.logits, yb, output), loss.backward()

    floor = run.MLPFloor(weights, lr)
    (w1, b1), (w2, b2), (w3, b3) = floor.params
    order, rows, state = np.random.default_rng(0).permutation(len(x)), np.arange(batch), {}

    def floor_gather() -> object:
        return [(x[order[i:i + batch]], labels[order[i:i + batch]]) for i in range(0, len(x), batch)]

    def floor_forward() -> None:
        z1 = xb @ w1
        z1 += b1
        a1 = np.maximum(z1, 0.0)
        z2 = a1 @ w2
        z2 += b2
        a2 = np.maximum(z2, 0.0)
        z3 = a2 @ w3
        z3 += b3
        z3 -= z3.max(axis=1, keepdims=True)
        p = np.exp(z3)
        p /= p.sum(axis=1, keepdims=True)
        state.update(z1=z1, a1=a1, z2=z2, a2=a2, p=p)

    def floor_loss() -> object:  # on a copy of p, since it writes into it (the copy is timed too)
        p = state["p"].copy()
        value = -float(np.log(p[rows, yb]).sum()) / batch
        p[rows, yb] -= 1.0
        p *= 1.0 / batch
        state["g3"] = p
        return value

    def floor_backward() -> None:
        g3, z1, z2, a1, a2 = state["g3"], state["z1"], state["z2"], state["a1"], state["a2"]
        g2 = (g3 @ w3.T) * (z2 > 0.0)
        g1 = (g2 @ w2.T) * (z1 > 0.0)
        state["grads"] = (xb.T @ g1, g1.sum(axis=0), a1.T @ g2, g2.sum(axis=0), a2.T @ g3, g3.sum(axis=0))

    def floor_update() -> None:
        for value, grad in zip(floor.parameters(), state["grads"], strict=True):
            value -= lr * grad

    # The pieces are MLPFloor.step's lines cut apart (they must stay one call each to be timed):
    # their loss and gradients must be the step's, or the table compares something else.
    floor_forward()
    whole = run.MLPFloor(weights, lr)
    before = [value.copy() for value in whole.parameters()]
    if not np.isclose(floor_loss(), whole.step(xb, yb)):
        raise SystemExit("breakdown.py: the floor's pieces no longer compute MLPFloor.step's loss")
    floor_backward()
    for old, new, grad in zip(before, whole.parameters(), state["grads"], strict=True):
        if not np.allclose(old - lr * grad, new, atol=1e-6):
            raise SystemExit("breakdown.py: the floor's pieces no longer compute MLPFloor.step's gradients")
    pieces = [
        ("gather the batch", lambda: [None for _ in batches], floor_gather, steps),
        ("forward (with the softmax)", lambda: plan.head.forward(xb), floor_forward, 1),
        ("loss and dL/dlogits", minidl_loss, floor_loss, 1),
        ("backward", lambda: plan.head.backward_parameters(loss.backward()), floor_backward, 1),
        ("update (SGD)", lambda: optimizer.step(params), floor_update, 1),
    ]
    epoch_ours = best(lambda: trainer._epoch(plan, batches, {}, callbacks, guard, recovery, 1)) / steps
    epoch_floor = best(lambda: run.floor_fit(floor, x, labels, batch_size=batch, epochs=1, seed=0)) / steps
    fit_ours = best(lambda: network.fit(x, labels, epochs=epochs, batch_size=batch, verbose=0, seed=0),
                    budget=0.3) / (epochs * steps)
    print(f"\nsmall: fit of the 64-50-50-10 MLP, float32, {epochs} epochs of {steps} batches of {batch}, "
          "per batch (best of 7)")
    print(f"  {'piece':<44}{'minidl':>9}{'floor':>9}{'minidl - floor':>16}")
    total_ours = total_floor = 0.0

    def line(label: str, ours: float, theirs: float) -> None:
        print(f"  {label:<44}{ours * 1e6:7.2f}us{theirs * 1e6:7.2f}us{(ours - theirs) * 1e6:+14.2f}us")

    for label, ours_call, floor_call, per in pieces:
        ours, theirs = best(ours_call) / per, best(floor_call) / per
        total_ours, total_floor = total_ours + ours, total_floor + theirs
        line(label, ours, theirs)
    line("sum of the pieces", total_ours, total_floor)
    line("an epoch, per batch (pieces and loop)", epoch_ours, epoch_floor)
    line(f"fit of {epochs} epochs, per batch", fit_ours, epoch_floor)
    print(f"  minidl / floor: {fit_ours / epoch_floor:.2f} for fit, {epoch_ours / epoch_floor:.2f} for an "
          "epoch (run.py times the two interleaved). Pieces timed alone run slower than in the loop.\n"
          "  fit's extra over its epochs: checking x and y, the step plan, the Ctrl-C guard, the first "
          "batch's checks\n  and, per epoch, the parameters' copy and finiteness test and the callbacks.")


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
