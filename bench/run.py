"""Run every benchmark and print one table of ratios, with the machine it ran on.

    python bench/run.py [--quick]

Each benchmark runs as its own process (bench/frontend.py, analysis.py, lowering.py,
render.py, fuzz.py); their full output is printed, then a summary of every ratio and
scaling line. The README's performance table is this script's output.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = re.compile(r"ratio|time\(|/time|crash|slowest", re.I)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        tv = f"torch {torch.__version__}, cuda {'yes' if torch.cuda.is_available() else 'no'}"
    except ImportError:
        tv = "torch not installed"
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; {tv}; "
            f"{platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller fuzz run")
    args = parser.parse_args()
    runs = [
        ("front end", ["bench/frontend.py"] + (["--repeats", "2"] if args.quick else [])),
        ("analysis", ["bench/analysis.py"]),
        ("lowering", ["bench/lowering.py"] + (["--quick"] if args.quick else [])),
        ("rendering", ["bench/render.py"]),
        ("fuzzing", ["bench/fuzz.py", "--n", "300" if args.quick else "1000"]),
    ]
    print(f"machine: {machine()}")
    summary: list[tuple[str, str]] = []
    start = time.perf_counter()
    for name, argv in runs:
        print(f"\n=== {name}: python {' '.join(argv)}", flush=True)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True)
        print(proc.stdout.rstrip())
        if proc.returncode != 0:
            print(proc.stderr.rstrip()[-2000:])
            summary.append((name, f"FAILED (exit {proc.returncode})"))
        summary += [(name, line.strip()) for line in proc.stdout.splitlines() if KEY.search(line)]
        print(f"({time.perf_counter() - t:.0f} s)")
    print(f"\n=== summary ({time.perf_counter() - start:.0f} s in all; {machine()})")
    width = max(len(n) for n, _ in summary) if summary else 10
    for name, line in summary:
        print(f"{name:<{width}}  {line}")


if __name__ == "__main__":
    main()
