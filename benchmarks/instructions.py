"""CPU instructions per 2-2-1 training step, counted by valgrind: a measure that does not move with load.

Run ``python benchmarks/instructions.py`` (needs ``valgrind`` on the PATH). It runs the
explicit step of ``benchmarks/run.py``'s tiny case (``zero_grad``, forward, MSE, backward,
``SGD.step``) 100 and 4,100 times under ``valgrind --tool=callgrind`` and prints the
difference divided by 4,000: the start-up cost cancels out. Hash randomisation and address
randomisation are turned off so two runs agree to a few hundred instructions. Compare two
commits by running it in each checkout (``PYTHONPATH=<checkout>``); timings on a shared
2-core machine move by 10%, this by well under 1%.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

STEPS = """
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


def instructions(steps: int) -> int:
    """Instructions of a whole run of ``steps`` steps (start-up included)."""
    command = ["setarch", "-R", "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-c", STEPS, str(steps)]
    if shutil.which("setarch") is None:
        command = command[2:]
    result = subprocess.run(command, capture_output=True, text=True, check=True,
                            env=dict(os.environ, PYTHONHASHSEED="0"))
    match = re.search(r"Collected : ([\d,]+)", result.stderr)
    if match is None:
        raise RuntimeError(f"valgrind printed no instruction count:\n{result.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def main() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("benchmarks/instructions.py needs valgrind (apt install valgrind)")
    per_step = (instructions(4100) - instructions(100)) / 4000
    print(f"2-2-1 explicit step: {per_step / 1000:.1f} k instructions per step (valgrind)")


if __name__ == "__main__":
    main()
