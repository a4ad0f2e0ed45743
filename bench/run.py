"""Every benchmark in turn: the first slice (commands, freshness), then the replay with the
reports on the replayed data. Each writes bench/results/<name>-<UTC>.json and
<name>-latest.json; this prints where each ended and exits 1 if one failed."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
STEPS = [
    ("slice", ["slice.py"]),  # commands and freshness
    ("replay and reports", ["replay.py"]),  # replay, its limits, peak memory, reports
]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short version of each")
    args = parser.parse_args(argv)
    failed: list[str] = []
    for name, script in STEPS:
        command = [sys.executable, str(BENCH / script[0]), *script[1:]]
        if args.quick:
            command.append("--quick")
        print(f"=== {name}: {' '.join(command[1:])}", flush=True)
        started = time.monotonic()
        code = subprocess.call(command)
        took = time.monotonic() - started
        print(f"=== {name}: exit {code} after {took:.0f}s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", flush=True)
        return 1
    print(f"results in {BENCH / 'results'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
