"""Run every benchmark module and write bench/RESULTS.md with machine, date and command.

Each ``bench/bench_<name>.py`` has ``run(quick: bool) -> str`` returning a Markdown section
(a heading, what was measured, a table of medians and the ratio to the goal or peer).
``python -m bench [--quick] [name ...]`` runs all or some; a named run updates only its section.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
MARK = "<!-- bench:{name} -->"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}"


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"(<!-- bench:[a-z_0-9]+ -->)", text)
    found = {}
    for i in range(1, len(parts) - 1, 2):
        found[parts[i][len("<!-- bench:"):-len(" -->")]] = parts[i + 1].strip()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {available()})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    names = args.names or available()
    ran: dict[str, str] = {}
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== bench {name}", flush=True)
        started = time.perf_counter()
        body = module.run(quick=args.quick).strip()
        took = time.perf_counter() - started
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        cmd = f"python -m bench {'--quick ' if args.quick else ''}{name}"
        ran[name] = f"{body}\n\n_Run {stamp} with `{cmd}` ({took:.0f} s)._"
        print(ran[name], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=HERE).stdout.strip()
    header = (
        "# Benchmark results\n\n"
        f"Machine: {machine()}; Python {platform.python_version()}; commit {commit or 'n/a'}.\n"
        "This machine is shared and noisy: figures are medians of repeated runs; ratios matter "
        "more than absolutes. Regenerate with `make bench` (or `python -m bench NAME`).\n"
    )
    # Read the other sections only now: benchmarks run for minutes, and a copy read at the start
    # would put back the old text of any section another run rewrote meanwhile.
    sections = _sections(RESULTS.read_text()) if RESULTS.exists() else {}
    sections.update(ran)
    body = "\n\n".join(f"{MARK.format(name=n)}\n{sections[n]}" for n in sorted(sections))
    RESULTS.write_text(header + "\n" + body + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
