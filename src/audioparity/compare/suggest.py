"""``compare --suggest-map F``: the pairing a comparison found, as an editable map file.

Every pair not made by exact name becomes a ``pairs`` entry (port → reference, the map-file
direction), commented with how it was made, so a user can check the guesses, fix one line
and pass the file back with ``--map``. Pairs that differ only in a step prefix or a
``:out``/``:in`` suffix are written once, by module path.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import write_text_atomic
from .mapping import split_name
from .result import CompareResult, safe_text


def suggested_pairs(result: CompareResult) -> list[tuple[str, str, str]]:
    """(port name, reference name, aligned_by) for every non-exact pair, module paths where
    they stand for all steps and suffixes."""
    by_path: dict[str, tuple[str, str]] = {}
    full: list[tuple[str, str, str]] = []
    clash: set[str] = set()
    for e in result.entries:
        if e.method == "name":
            continue
        ps, pp, px = split_name(e.port_name)
        rs, rp, rx = split_name(e.ref_name)
        if (ps, px) == (rs, rx):
            if pp in by_path and by_path[pp][0] != rp:
                clash.add(pp)
            by_path.setdefault(pp, (rp, e.method))
        full.append((e.port_name, e.ref_name, e.method))
    out = [(p, r, m) for p, (r, m) in by_path.items() if p not in clash]
    covered = {p for p, _, _ in out}
    out += [(p, r, m) for p, r, m in full
            if split_name(p)[1] not in covered or split_name(p)[1] in clash]
    return out


def render_suggested_map(result: CompareResult) -> str:
    lines = ["# audioparity map file (port name -> reference name); see docs/map-files.md",
             f"# suggested by: audioparity compare {result.ref_path} {result.port_path}",
             "# check the guesses (order, order+value), edit, and pass it back with --map",
             ""]
    pairs = suggested_pairs(result)
    if not pairs:
        lines.append("pairs: {}  # every pair matched by exact name")
    else:
        lines.append("pairs:")
        for port, ref, method in pairs:
            lines.append(f"  {json.dumps(safe_text(port), ensure_ascii=False)}: "
                         f"{json.dumps(safe_text(ref), ensure_ascii=False)}  # {method}")
    if result.unmatched_ref or result.unmatched_port:
        lines += ["", (f"# not aligned: {len(result.unmatched_ref)} reference tensors, "
                      f"{len(result.unmatched_port)} port tensors")]
        for name in result.unmatched_port[:50]:
            lines.append(f"#   port only: {safe_text(name)}")
    return "\n".join(lines) + "\n"


def write_suggested_map(path: str | Path, result: CompareResult) -> None:
    """Write :func:`render_suggested_map` atomically."""
    write_text_atomic(path, render_suggested_map(result))
