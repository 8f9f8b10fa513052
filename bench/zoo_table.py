"""Run every zoo case and print the README table: bug -> where found -> cause named.

Usage: ``python bench/zoo_table.py [--details] [CASE_ID ...]``. Each case builds a
reference from a real library class and a port with one bug, traces both, and runs
``compare_traces``; the table shows what audioparity reported, and whether it is the
expected answer (right layer, right top cause, fitted parameters within 1%).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "zoo"))

from zoo_cases import CASES, run_case


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main(argv: list[str]) -> int:
    details = "--details" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    print("| seed | bug | port | where found | cause named | evidence | ok |")
    print("|---|---|---|---|---|---|---|")
    failures = 0
    for case in CASES:
        if wanted and case.id not in wanted:
            continue
        missing = case.missing()
        if missing:
            print(f"| {case.seed} | {_cell(case.bug)} | {case.runtime} | skipped: needs "
                  f"{', '.join(missing)} | | | |")
            continue
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run_case(case, Path(tmp))
        elapsed = time.perf_counter() - start
        top = outcome.top
        where = f"`{outcome.where}`" if outcome.where else outcome.status
        named = f"`{top.cause}` ({top.confidence:.2f})" if top else "—"
        problems = outcome.problems()
        failures += bool(problems)
        print(f"| {case.seed} | {_cell(case.bug)} | {case.runtime} | {where} | {named} | "
              f"{_cell(top.detail) if top else ''} | {'yes' if not problems else 'NO'} |")
        if details:
            for f in outcome.causes:
                print(f"    {f.cause} {f.confidence:.2f} {f.detail} {f.params}", file=sys.stderr)
            for p in problems:
                print(f"    problem: {p}", file=sys.stderr)
            print(f"    [{case.id}: {elapsed:.1f} s]", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
