"""Demo generation: time and peak memory for a million customers, and the whole demo for fewer.

Each measurement runs in a fresh subprocess so its peak resident memory (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

GENERATE = """
import json, resource, sys, time
from pathlib import Path
from cxlens.demo.generate import generate
started = time.perf_counter()
files = generate(Path(sys.argv[1]), int(sys.argv[2]), 7)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": files.rows,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
DEMO = """
import json, resource, sys, time
from cxlens.config import load_settings
from cxlens.demo.run import build_demo
started = time.perf_counter()
result = build_demo(load_settings(sys.argv[1]), customers=int(sys.argv[2]), seed=7, create_keys=False)
print(json.dumps({"seconds": time.perf_counter() - started, "steps": result.seconds,
                  "events": result.summary["events"],
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(script: str, customers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-W", "ignore", "-c", script, tmp, str(customers)],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> str:
    big = 100_000 if quick else 1_000_000
    small = 2_000 if quick else 20_000
    gen = _run(GENERATE, big)
    demo = _run(DEMO, small)
    rows = sum(v for k, v in gen["rows"].items() if not k.startswith("truth"))
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in demo["steps"].items())
    return "\n".join([
        "## Demo data (`cxlens demo`)",
        "",
        "Generation (numpy, chunks of 50,000 customers, Parquet out) in a fresh process; then the whole "
        "demo (generate → import through the importer and pipeline → summary) for fewer customers. "
        "Single runs (each takes long); peak = the process's maximum resident memory.",
        "",
        "| what | customers | rows written / events loaded | seconds | peak MiB |",
        "|---|---|---|---|---|",
        f"| generate | {big:,} | {rows:,} | {gen['seconds']:.1f} | {gen['peak_mib']:.0f} |",
        f"| full demo | {small:,} | {demo['events']:,} | {demo['seconds']:.1f} | {demo['peak_mib']:.0f} |",
        "",
        f"Full-demo steps: {steps}. Goal: a million customers must work (bounded memory); "
        f"generation ratio to a 1-minute budget: {60 / gen['seconds'] if not quick else float('nan'):.2f}.",
    ])
