"""Run every benchmark script in this folder and print one table.

A script joins the table by defining `table_rows() -> list[tuple[str, str, str]]` (measure, result,
target); one without it is run through its own `main()`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    rows: list[tuple[str, str, str]] = []
    for module_info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if module_info.name.startswith("_") or (names and module_info.name not in names):
            continue
        module = importlib.import_module(f"benchmarks.{module_info.name}")
        print(f"running {module_info.name}…", file=sys.stderr, flush=True)
        if hasattr(module, "table_rows"):
            rows.extend((f"{module_info.name}: {m}", r, t) for m, r, t in module.table_rows())
        else:
            module.main()
    if rows:
        width = max(len(r[0]) for r in rows)
        value = max(len(r[1]) for r in rows)
        print(f"{'measure':<{width}}  {'result':<{value}}  target")
        for measure, result, target in rows:
            print(f"{measure:<{width}}  {result:<{value}}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
