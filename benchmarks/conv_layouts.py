"""Which im2col layout should Conv2D use? Times one forward + backward of three layouts.

Run from the repository root (a minute or less on 2 cores)::

    python benchmarks/conv_layouts.py

The layouts, for an input ``x`` of shape ``(N, C, H, W)`` and ``K = C * kh * kw``:

* ``batch-inner``: ``x`` transposed once to ``(C, H, W, N)``; ``cols`` is ``(K, Ho * Wo * N)``,
  so every copied run is ``Wo * N`` contiguous numbers; ``y = W @ cols`` is ``(O, Ho, Wo, N)``.
* ``nchw``: ``cols`` is ``(K, N * Ho * Wo)`` read straight from NCHW (runs of ``Wo``).
* ``per-image``: ``cols`` is ``(N * Ho * Wo, K)`` (each row one patch; runs of ``kw``),
  ``y = cols @ W.T``.

Each case: forward (im2col + one matrix product + bias), backward (dW, db, and dx by
summing shifted slices per kernel offset). The same numbers come out of all three
(checked before timing).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Step = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, ...]]


def batch_inner(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = h - kh + 1, wd - kw + 1
    xt = np.ascontiguousarray(x.transpose(1, 2, 3, 0))  # (C, H, W, N)
    win = sliding_window_view(xt, (kh, kw), axis=(1, 2))  # (C, Ho, Wo, N, kh, kw)
    cols = win.transpose(0, 4, 5, 1, 2, 3).reshape(c * kh * kw, ho * wo * n)
    y = (w.reshape(o, -1) @ cols).reshape(o, ho, wo, n)
    y += b[:, None, None, None]
    y = y.transpose(3, 0, 1, 2)  # (N, O, Ho, Wo), a view
    gm = g.transpose(1, 2, 3, 0).reshape(o, -1)  # (O, Ho*Wo*N), copies
    dw = (gm @ cols.T).reshape(w.shape)
    db = gm.sum(axis=1)
    gc = (w.reshape(o, -1).T @ gm).reshape(c, kh, kw, ho, wo, n)
    dxt = np.zeros_like(xt)
    for i in range(kh):
        for j in range(kw):
            dxt[:, i:i + ho, j:j + wo, :] += gc[:, i, j]
    return y, dw, db, dxt.transpose(3, 0, 1, 2)


def nchw(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = h - kh + 1, wd - kw + 1
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))  # (N, C, Ho, Wo, kh, kw)
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * kh * kw, n * ho * wo)
    y = (w.reshape(o, -1) @ cols).reshape(o, n, ho, wo)
    y += b[:, None, None, None]
    y = y.transpose(1, 0, 2, 3)
    gm = g.transpose(1, 0, 2, 3).reshape(o, -1)
    dw = (gm @ cols.T).reshape(w.shape)
    db = gm.sum(axis=1)
    gc = (w.reshape(o, -1).T @ gm).reshape(c, kh, kw, n, ho, wo)
    dx = np.zeros((c, n, h, wd), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, :, i:i + ho, j:j + wo] += gc[:, i, j]
    return y, dw, db, dx.transpose(1, 0, 2, 3)


def per_image(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = h - kh + 1, wd - kw + 1
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))  # (N, C, Ho, Wo, kh, kw)
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
    y = (cols @ w.reshape(o, -1).T).reshape(n, ho, wo, o)
    y += b
    y = y.transpose(0, 3, 1, 2)
    gm = g.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (gm.T @ cols).reshape(w.shape)
    db = gm.sum(axis=0)
    gc = (gm @ w.reshape(o, -1)).reshape(n, ho, wo, c, kh, kw)
    dx = np.zeros((n, h, wd, c), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + ho, j:j + wo, :] += gc[:, :, :, :, i, j]
    return y, dw, db, dx.transpose(0, 3, 1, 2)


LAYOUTS: dict[str, Step] = {"batch-inner": batch_inner, "nchw": nchw, "per-image": per_image}
CASES = [  # (N, C, H, W, O, k): LeNet's two convolutions and a 3x3 layer, batch 64
    (64, 1, 28, 28, 6, 5), (64, 6, 12, 12, 16, 5), (64, 16, 16, 16, 32, 3)]


def main() -> None:
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for n, c, h, wd, o, k in CASES:
            x = rng.normal(size=(n, c, h, wd)).astype(dtype)
            w = rng.normal(size=(o, c, k, k)).astype(dtype)
            b = rng.normal(size=o).astype(dtype)
            g = rng.normal(size=(n, o, h - k + 1, wd - k + 1)).astype(dtype)
            reference = batch_inner(x, w, b, g)
            for step in LAYOUTS.values():
                for got, want in zip(step(x, w, b, g), reference, strict=True):
                    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
            times: dict[str, list[float]] = {name: [] for name in LAYOUTS}
            for _ in range(40):
                for name, step in LAYOUTS.items():
                    start = time.perf_counter()
                    step(x, w, b, g)
                    times[name].append(time.perf_counter() - start)
            medians = {name: statistics.median(t) * 1e3 for name, t in times.items()}
            # the ratio to batch-inner in the same round, median over rounds (a slow phase hits both)
            ratios = {name: statistics.median(a / b for a, b in zip(t, times["batch-inner"], strict=True))
                      for name, t in times.items()}
            row = "  ".join(f"{name} {medians[name]:6.2f} ms (x{ratios[name]:.2f})" for name in LAYOUTS)
            print(f"{np.dtype(dtype).name} N={n} C={c} {h}x{wd} O={o} k={k}:  {row}")


if __name__ == "__main__":
    main()
