"""Run every benchmark script in this folder and print one table.

A script joins the table by defining `table_rows() -> list[tuple[str, str, str]]` (measure, result,
target); one without it is run through its own `main()`; a module with neither is a helper (such as
`baseline_bot`) and is skipped, as are `_private` modules. Names on the command line pick scripts.
BENCH_QUICK=1 asks every script for its quick mode (smaller sizes, for CI-like runs).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    rows: list[tuple[str, str, str]] = []
    for module_info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if module_info.name.startswith("_") or (names and module_info.name not in names):
            continue
        module = importlib.import_module(f"benchmarks.{module_info.name}")
        if not hasattr(module, "table_rows") and not hasattr(module, "main"):
            continue
        print(f"running {module_info.name}…", file=sys.stderr, flush=True)
        started = time.perf_counter()
        if hasattr(module, "table_rows"):
            rows.extend((f"{module_info.name}: {m}", r, t) for m, r, t in module.table_rows())
        else:
            module.main()
        print(f"  {module_info.name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if rows:
        quick = os.environ.get("BENCH_QUICK", "").strip() not in ("", "0")
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"{cores} cores (nproc); Python {sys.version.split()[0]}{'; BENCH_QUICK' if quick else ''}")
        width = max(len(r[0]) for r in rows)
        value = max(len(r[1]) for r in rows)
        print(f"{'measure':<{width}}  {'result':<{value}}  target")
        for measure, result, target in rows:
            print(f"{measure:<{width}}  {result:<{value}}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
