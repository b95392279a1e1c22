"""Time of `salesenv eval` on the whole salesllm-1805 suite with the persona customer.

    python benchmarks/eval_speed.py [--agent scripted] [--num-envs 1 32]

Runs the command in this process for each --num-envs value, into a fresh temporary folder
each time (progress bar off), and prints seconds and episodes per second, including the
per-episode record writes and the summary. The persona customer costs little, so this
measures salesenv's own overhead: scheduling, scoring and writing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from salesenv.cli import main as salesenv_main
from salesenv.results import load_results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agent", default="scripted")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    print(f"salesenv eval, suite salesllm-1805, agent {args.agent}, persona customer\n")
    print("| --num-envs | episodes | seconds | episodes/s |")
    print("|---:|---:|---:|---:|")
    for num_envs in args.num_envs:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "run"
            argv = ["eval", "--out", str(out), "--num-envs", str(num_envs), "--no-progress"]
            start = time.perf_counter()
            with redirect_stdout(StringIO()):
                status = salesenv_main([*argv, f"agent={args.agent}"])
            seconds = time.perf_counter() - start
            if status != 0:
                raise SystemExit(f"salesenv eval failed with status {status}")
            episodes = len(load_results(out))
        print(f"| {num_envs} | {episodes} | {seconds:.1f} | {episodes / seconds:.0f} |")


if __name__ == "__main__":
    main()
