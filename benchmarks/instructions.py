"""CPU instructions per training step, counted by valgrind: a measure that does not move with load.

Run ``python benchmarks/instructions.py`` (needs ``valgrind`` on the PATH) for every case,
or name the cases (``python benchmarks/instructions.py tiny small``):

* ``tiny``: the explicit step of ``benchmarks/run.py``'s tiny case (``zero_grad``, forward,
  MSE, backward, ``SGD.step``), run 100 and 4,100 times; the difference divided by 4,000.
* ``small``: ``Network.fit`` of ``run.py``'s small case (64-50-50-10, float32, batches of 32,
  shuffled), 1 and 11 epochs; the difference divided by the 440 batches of those 10 epochs.
  OpenBLAS runs on one thread here, so that no waiting thread adds instructions.
* ``tiny-floor`` and ``small-floor``: the same for their floors (``TinyFloor``, ``floor_fit``),
  so a ratio of instructions can be read beside the ratio of times.

Both counts take the difference of two runs, so start-up cancels out. Hash randomisation
and address randomisation are turned off so two runs agree to a few hundred instructions.
Compare two commits by running each checkout's own copy with ``PYTHONPATH=<checkout>`` (the
small case imports that checkout's ``run.py``, which puts its repository first on the path);
timings on a shared 2-core machine move by 10%, this by well under 1%.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

TINY = """
import sys
import numpy as np
import minidl
net = minidl.Network.from_node_weights({"node_0": [2, 1], "node_1": [1, 2], "output": [1, 1]})
loss, opt = minidl.MeanSquaredError(), minidl.SGD(learning_rate=1e-4)
params, x, y = net.parameters(), np.array([0.0, 3.0]), np.array([3.0])
for _ in range(int(sys.argv[1])):
    net.zero_grad()
    loss.forward(net.forward(x), y)
    net.backward(loss.backward())
    opt.step(params)
"""

SMALL = """
import sys
sys.path.insert(0, sys.argv[2])
import run
weights = run.mlp_weights(sizes=run.SMALL_SIZES)
x, labels = run.mlp_data(run.SMALL_SAMPLES, sizes=run.SMALL_SIZES)
network = run.compiled_network(weights, run.SMALL_LR)
network.fit(x, labels, epochs=int(sys.argv[1]), batch_size=run.SMALL_BATCH, verbose=0, seed=0)
"""

TINY_FLOOR = """
import sys
sys.path.insert(0, sys.argv[2])
import numpy as np
import run
floor = run.TinyFloor(np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([[1.0], [1.0]]), np.array([0.0, 3.0]),
                      np.array([3.0]), run.TINY_LR)
for _ in range(int(sys.argv[1])):
    floor.step()
"""

SMALL_FLOOR = """
import sys
sys.path.insert(0, sys.argv[2])
import run
weights = run.mlp_weights(sizes=run.SMALL_SIZES)
x, labels = run.mlp_data(run.SMALL_SAMPLES, sizes=run.SMALL_SIZES)
run.floor_fit(run.MLPFloor(weights, run.SMALL_LR), x, labels, batch_size=run.SMALL_BATCH,
              epochs=int(sys.argv[1]), seed=0)
"""

#: case -> (script, the two run lengths, steps in the difference)
CASES = {"tiny": (TINY, 100, 4100, 4000), "small": (SMALL, 1, 11, 440),
         "tiny-floor": (TINY_FLOOR, 100, 4100, 4000), "small-floor": (SMALL_FLOOR, 1, 11, 440)}


def instructions(script: str, length: int) -> int:
    """Instructions of a whole run of ``length`` steps or epochs (start-up included)."""
    command = ["setarch", "-R", "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-c", script, str(length), str(Path(__file__).resolve().parent)]
    if shutil.which("setarch") is None:
        command = command[2:]
    # Run from the file system's root, so ``python -c`` finds minidl on PYTHONPATH (or installed),
    # not in whatever checkout the current directory is.
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd="/",
                            env=dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1"))
    match = re.search(r"Collected : ([\d,]+)", result.stderr)
    if match is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{result.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main(argv: list[str]) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("benchmarks/instructions.py needs valgrind (apt install valgrind)")
    for case in argv or list(CASES):
        if case not in CASES:
            raise SystemExit(f"unknown case {case!r}; expected one of {', '.join(CASES)}")
        script, short, long, steps = CASES[case]
        per_step = (instructions(script, long) - instructions(script, short)) / steps
        what = "2-2-1 explicit step" if case.startswith("tiny") else "fit, per batch of 32"
        print(f"{case}: {what}: {per_step / 1000:.1f} k instructions (valgrind)")


if __name__ == "__main__":
    main(sys.argv[1:])
