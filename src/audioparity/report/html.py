"""The HTML report: one self-contained file (inline CSS and JS, figures embedded).

``compare --html`` renders one compare result (:func:`write_html`); ``audioparity report``
renders several result JSON files and audio files together (:func:`write_report`). The
page opens with the verdict, then for a comparison: the error-along-execution-order chart,
the first divergence (heat map of where its error starts, ref-vs-port excerpts, every
finding with its numbers and hint), every explained pair, and the validation table,
collapsible per component, with port names and how each pair was aligned.

Every name is escaped by Jinja's autoescape; the only markup inserted unescaped is what
:mod:`.chart` builds (which escapes its own text) and ``data:`` URIs. A Content Security
Policy allows no network access and only the page's own script (by hash), so even a name
that slipped through could neither load nor run anything.
"""

from __future__ import annotations

import base64
import hashlib
import math
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from ..atomic import write_text_atomic
from ..compare.result import CompareResult, safe_json, safe_text
from ..errors import InputError
from .chart import ChartPoint, StepPoint, error_chart, number, step_chart
from .results import LoadedResult
from .table import MAJORITY_BREAK

# results JSON of older writers may lack a field: a missing field renders empty, not an error
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("audioparity.report", "templates"),
                          autoescape=True, undefined=jinja2.ChainableUndefined)
#: audio files up to this size are embedded (base64) in a player
MAX_EMBED_BYTES = 8 * 1024 * 1024
#: a component of the validation table with more pairs is split one module level deeper
SPLIT_AT, MAX_DEPTH = 24, 12
GOOD_STATUSES = frozenset({"parity", "ok"})
_MIME = {".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg"}


def fmt(value: Any, spec: str) -> str:
    """A metric for a table cell: ``-`` for None, ``inf``/``nan`` spelled out."""
    if isinstance(value, jinja2.Undefined):
        return "-"
    x = number(value)
    if x is None:
        return "-" if value is None else str(value)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)


# --------------------------------------------------------------------------- compare
def _split(name: str) -> tuple[str, str]:
    from ..compare.mapping import split_name

    step, path, _ = split_name(name)
    return step, path


def _group_key(name: str, depth: int) -> str:
    step, path = _split(name)
    return step + ".".join(path.split(".")[:depth])


def _grouped(names: list[tuple[int, str]], depth: int) -> list[tuple[str, list[int]]]:
    """Pairs grouped by module path at ``depth``; a group of more than SPLIT_AT pairs is
    split one level deeper (where that splits it), so a 28-layer stack reads as 28 groups."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for i, name in names:
        groups.setdefault(_group_key(name, depth), []).append((i, name))
    out = []
    for key, members in groups.items():
        deeper = {_group_key(n, depth + 1) for _, n in members}
        if len(members) > SPLIT_AT and len(deeper) > 1 and depth < MAX_DEPTH:
            out.extend(_grouped(members, depth + 1))
        elif len(members) > SPLIT_AT and len(deeper) == 1 and depth < MAX_DEPTH and \
                deeper != {key}:
            out.extend(_grouped(members, depth + 1))  # a single child: look below it
        else:
            out.append((key, [i for i, _ in members]))
    return out


def _how(entry: dict) -> str:
    parts = []
    if entry.get("aligned_by", "name") != "name":
        parts.append(str(entry.get("aligned_by")))
    if entry.get("convention"):
        parts.append(f"read {entry['convention']}")
    if entry.get("convention_note"):
        parts.append(MAJORITY_BREAK)
    return ", ".join(parts)


def _groups(entries: list[dict], first_index: int | None) -> list[dict]:
    """The validation table's collapsible components, each with its worst values."""
    out = []
    for key, members in _grouped([(i, e["name"]) for i, e in enumerate(entries)], 1):
        g: dict[str, Any] = {"key": key, "rows": [(i, entries[i]) for i in members],
                             "failing": 0, "first": first_index in members, "max_abs": None,
                             "rel_l2": None, "cosine": None, "snr_db": None}
        how: dict[str, int] = {}
        for _, e in g["rows"]:
            g["failing"] += 0 if e.get("ok") else 1
            for metric, worst in (("max_abs", max), ("rel_l2", max), ("cosine", min),
                                  ("snr_db", min)):
                v = number(e.get(metric))
                if v is not None and not math.isnan(v):
                    g[metric] = v if g[metric] is None else worst(g[metric], v)
            if _how(e):
                how[_how(e)] = how.get(_how(e), 0) + 1
        g["how"] = "; ".join(f"{k} ×{n}" for k, n in how.items())
        out.append(g)
    return out


def _resolve(path: str | None, base: Path | None) -> Path | None:
    """``path`` as written in a result, found as given or beside the result file."""
    if not path:
        return None
    p = Path(path)
    if p.exists():
        return p
    if base is not None and not p.is_absolute() and (base / p).exists():
        return base / p
    return None


def _first_pair_figure(data: dict, entry: dict, base: Path | None) -> dict:
    """The heat map and excerpts of the first divergent pair, or a note why there are none."""
    from .onset import pair_view, read_pair

    if entry.get("status") == "shape":
        return {"note": f"no heat map: {entry.get('detail') or 'the shapes differ'}"}
    ref, port = _resolve(data.get("ref"), base), _resolve(data.get("port"), base)
    if ref is None or port is None:
        return {"note": "no heat map: the traces named in the result are not here "
                        f"({data.get('ref')}, {data.get('port')})"}
    try:
        ref_a, port_a = read_pair(ref, port, entry)
        view = pair_view(ref_a, port_a, float(entry.get("rtol") or 0.0),
                         float(entry.get("atol") or 0.0))
    except (InputError, ValueError, KeyError) as exc:
        return {"note": f"no heat map: {exc}"}
    from .figures import heatmap_png

    return {"heat": heatmap_png(view, "|port − ref|"), "view": view}


def generation_view(gen: dict | None) -> dict | None:
    """The template's view of a compare result's ``generation`` section: its JSON and the
    per-step chart (None when the comparison has no generation)."""
    if not isinstance(gen, dict):
        return None
    steps = [s for s in gen.get("steps") or [] if isinstance(s, dict)]
    points = [StepPoint(int(s.get("step", i)), number(s.get("kl")), s.get("top1"),
                        bool(s.get("tokens_equal")), str(s.get("ref_token")),
                        str(s.get("port_token"))) for i, s in enumerate(steps)]
    marks = [m.get("step") for m in (gen.get("first_logits_divergence"),
                                     gen.get("first_argmax_mismatch"),
                                     gen.get("first_token_mismatch")) if isinstance(m, dict)]
    first = min(marks) if marks else None
    stop = gen.get("stop") or {}
    ref_steps = int((stop.get("ref") or {}).get("steps") or len(points))
    port_steps = int((stop.get("port") or {}).get("steps") or len(points))
    return {"data": gen, "steps": steps, "first_step": first,
            "chart": step_chart(points, first, ref_steps, port_steps)}


def compare_section(data: dict, base: Path | None = None, label: str = "compare",
                    read_traces: bool = True, prefix: str = "s0-") -> dict:
    """The template's view of one compare result (its ``--json`` form)."""
    data = safe_json(data)
    entries = data.get("entries") or []
    first = data.get("first_divergence")
    first_index = None
    if first is not None:
        first_index = first.get("index")
        if not isinstance(first_index, int) or not 0 <= first_index < len(entries) or \
                entries[first_index]["name"] != first["name"]:
            first_index = next((i for i, e in enumerate(entries)
                                if e["name"] == first["name"]), None)
    points = [ChartPoint(e["name"], number(e.get("rel_l2")), number(e.get("snr_db")),
                         bool(e.get("ok"))) for e in entries]
    first_entry = entries[first_index] if first_index is not None else None
    figure: dict = {}
    if first_entry is not None and read_traces:
        figure = _first_pair_figure(data, first_entry, base)
    explained = [(name, causes) for name, causes in (data.get("explained") or {}).items()
                 if first is None or name != first["name"]]
    summary = data.get("summary") or {}
    return {
        "kind": "compare", "label": label, "data": data, "status": data.get("status", "?"),
        "good": data.get("status") in GOOD_STATUSES, "headline": data.get("headline", ""),
        "incomplete": data.get("incomplete"), "entries": entries, "first": first,
        "first_index": first_index, "first_entry": first_entry, "figure": figure,
        "chart": error_chart(points, first_index, f"{prefix}pair-"), "prefix": prefix,
        "explained": explained,
        "groups": _groups(entries, first_index), "summary": summary,
        "failing": sum(1 for e in entries if not e.get("ok")),
        "last_good": first.get("last_good") if first else None,
        "generation": generation_view(data.get("generation")),
        "majority_break": MAJORITY_BREAK,
    }


# --------------------------------------------------------------------------- weights
def weights_section(data: dict, label: str = "weights audit") -> dict:
    """The template's view of a ``weights audit --json`` result."""
    data = safe_json(data)
    by_comp: dict[str, list[dict]] = {}
    for e in data.get("entries") or []:
        by_comp.setdefault(str(e.get("component", "?")), []).append(e)
    components = [{"name": name, "counts": counts, "entries": by_comp.get(name, []),
                   "bad": sum(1 for e in by_comp.get(name, []) if e.get("status") != "ok")}
                  for name, counts in (data.get("components") or {}).items()]
    # what the terminal report calls "worth a look": not ok, renamed, or a layout that breaks
    notable = [e for e in data.get("entries") or [] if e.get("status") != "ok"
               or e.get("how") not in ("exact", "prefix") or "breaks" in (
                   e.get("layout_note") or "")]
    return {"kind": "weights", "label": label, "data": data, "status": data.get("status", "?"),
            "good": data.get("status") in GOOD_STATUSES and not data.get("problems"),
            "headline": "; ".join(data.get("problems") or []) or "no problems found",
            "components": components, "notable": notable}


# --------------------------------------------------------------------------- audio
def audio_player(path: Path) -> dict:
    """A player (base64 ``data:`` URI when the file is small enough) and a spectrogram."""
    from ..audio.io import load_audio
    from .figures import spectrogram_png

    out: dict[str, Any] = {"path": str(path), "src": None, "spectrogram": None, "note": None}
    size = path.stat().st_size
    if size <= MAX_EMBED_BYTES:
        mime = _MIME.get(path.suffix.lower(), "audio/wav")
        out["src"] = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()
    else:
        out["note"] = (f"{size / 1e6:.1f} MB: too large to embed "
                       f"(over {MAX_EMBED_BYTES // (1024 * 1024)} MiB); open the file itself")
    clip = load_audio(path)
    out["sr"], out["duration_s"] = clip.sr, clip.duration_s
    out["spectrogram"] = spectrogram_png(clip.y, clip.sr, f"{path.name}: power spectrogram")
    return out


def audio_inspect_section(data: dict, base: Path | None, label: str) -> dict:
    data = safe_json(data)
    files = []
    for f in data.get("files") or []:
        found = _resolve(f.get("path"), base)
        files.append({"info": f, "player": audio_player(found) if found else None})
    good = all(f["info"].get("ok") for f in files) and not data.get("errors")
    return {"kind": "audio_inspect", "label": label, "data": data, "files": files,
            "status": "ok" if good else "problem", "good": good,
            "headline": ", ".join(f"{Path(str(f['info'].get('path'))).name}: "
                                  f"{f['info'].get('verdict')}" for f in files)}


def audio_compare_section(data: dict, label: str) -> dict:
    data = safe_json(data)
    causes = data.get("causes") or []
    return {"kind": "audio_compare", "label": label, "data": data,
            "status": data.get("status", "?"), "good": data.get("status") in GOOD_STATUSES,
            "headline": ", ".join(c.get("cause", "?") for c in causes) or "no difference named",
            "scores": {k: v for k, v in (data.get("scores") or {}).items() if k != "notes"}}


def audio_file_section(path: Path) -> dict:
    player = audio_player(path)
    return {"kind": "audio_file", "label": f"audio {path.name}", "player": player,
            "status": "audio", "good": True,
            "headline": f"{player['duration_s']:.2f} s at {player['sr']} Hz"}


# --------------------------------------------------------------------------- page
def _script() -> str:
    return _ENV.get_template("report.js").render()


def render_sections(sections: list[dict], title: str) -> str:
    """The page for ``sections`` (views built by the ``*_section`` functions)."""
    script = _script()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    html = _ENV.get_template("report.html.j2").render(
        sections=sections, title=title, fmt=fmt, script=Markup(script),
        script_hash=f"sha256-{digest}", all_good=all(s["good"] for s in sections))
    # tensor names that were not valid UTF-8 carry lone surrogates: U+FFFD in the file
    return safe_text(html)


def render_html(result: CompareResult, read_traces: bool = True) -> str:
    """The report of one comparison (``compare --html``); reads the first divergent pair
    from the two traces for its heat map unless ``read_traces`` is False."""
    section = compare_section(result.to_json(), None, "compare", read_traces)
    return render_sections([section], f"audioparity: {result.status} — {result.port_path}")


def write_html(path: str | Path, result: CompareResult) -> None:
    """Write the report of one comparison atomically."""
    write_text_atomic(path, render_html(result))


def build_sections(results: list[LoadedResult]) -> list[dict]:
    """One view per loaded input of ``audioparity report``, in the order given."""
    sections = []
    for i, r in enumerate(results):
        label = f"{r.kind.replace('_', ' ')}: {r.path.name}"
        if r.kind == "compare":
            sections.append(compare_section(r.data, r.path.parent, label, prefix=f"s{i}-"))
        elif r.kind == "weights":
            sections.append(weights_section(r.data, label))
        elif r.kind == "audio_inspect":
            sections.append(audio_inspect_section(r.data, r.path.parent, label))
        elif r.kind == "audio_compare":
            sections.append(audio_compare_section(r.data, label))
        else:
            sections.append(audio_file_section(r.path))
    return sections


def render_report(results: list[LoadedResult]) -> str:
    """The combined report of ``audioparity report`` over loaded inputs, in their order."""
    return render_sections(build_sections(results), "audioparity report")


def write_report(path: str | Path, results: list[LoadedResult]) -> bool:
    """Write the combined report atomically; True when every result is good."""
    sections = build_sections(results)
    write_text_atomic(path, render_sections(sections, "audioparity report"))
    return all(s["good"] for s in sections)
