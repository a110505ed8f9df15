"""The front door's figures: README length, and `make test`'s wall time and peak memory.

    python scripts/test_figures.py            # README lines + runs `make test` and measures it
    python scripts/test_figures.py --no-run   # README lines only

Peak memory is the largest sum of resident memory (RSS) over the whole process tree of
`make test` (pytest, the `newsnorm` subprocesses it starts, their workers), sampled every
0.2 s from /proc (Linux). The figures and the machine they were measured on go in
docs/testing.md; the budget is 3 minutes and 1 GB on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_S, BUDGET_MB = 180, 1024


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_rss_mb(root: int) -> float:
    """Resident memory of `root` and all its descendants, in MB."""
    tree, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        todo += tree.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e6


def measure(cmd: list[str]) -> tuple[int, float, float]:
    """(exit code, wall seconds, peak tree RSS in MB) of a command."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, tree_rss_mb(proc.pid))
        time.sleep(0.2)
    return proc.returncode, time.monotonic() - start, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-run", action="store_true", help="only count README lines")
    parser.add_argument("--cmd", default="make test", help="the command to measure")
    args = parser.parse_args(argv)
    lines = len((REPO / "README.md").read_text(encoding="utf-8").splitlines())
    print(f"README.md: {lines} lines (goal: at most ~200)")
    if args.no_run:
        return 0
    rc, wall, peak = measure(shlex.split(args.cmd))
    print(f"{args.cmd}: exit {rc}, wall {wall:.0f} s ({wall / 60:.1f} min; budget "
          f"{BUDGET_S // 60} min), peak memory {peak:.0f} MB (process tree RSS; budget "
          f"{BUDGET_MB} MB), {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
