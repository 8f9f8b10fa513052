"""The HTML report as a file: self-contained, escaped, complete; ``audioparity report``."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from audioparity.compare import compare_traces
from audioparity.report.html import render_html

pytestmark = pytest.mark.slow  # every test here uses the demo's traces (torch, ~10 s once)
FIRST = "lm.model.layers.0.self_attn.apply_rotary_pos_emb"


class _Refs(HTMLParser):
    """Every URL-bearing attribute and every tag name of a page."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def _parse(html: str) -> _Refs:
    refs = _Refs()
    refs.feed(html)
    return refs


def test_compare_report_is_one_file_with_no_network(demo_dir):
    html = (demo_dir / "report.html").read_text(encoding="utf-8")
    refs = _parse(html)
    assert "link" not in refs.tags and "iframe" not in refs.tags
    assert all(u.startswith(("data:image/png;base64,", "#")) for u in refs.urls), refs.urls
    assert "default-src 'none'" in html  # CSP: nothing loads, only the page's own script


def test_compare_report_shows_verdict_chart_and_first_divergence(demo_dir):
    html = (demo_dir / "report.html").read_text(encoding="utf-8")
    verdict = html.index('id="verdict"')
    assert verdict < html.index('class="error-chart"') < html.index('id="s0-first-divergence"')
    assert "divergent" in html[verdict:verdict + 300]
    assert f'<code id="first-divergence-name">{FIRST}</code>' in html
    assert 'id="s0-heatmap"' in html and "ref vs port, around the first element" in html
    assert "rope_variant" in html and "fix:</b>" in html and "<code>residual</code>" in html
    row = re.search(r'<tr id="s0-pair-(\d+)" class="first">', html)
    assert row and int(row.group(1)) == json.loads(
        (demo_dir / "compare.json").read_text())["first_divergence"]["index"]


def test_markup_in_tensor_names_is_escaped(markup_traces):
    html = render_html(compare_traces(*markup_traces))
    assert "<img src=x" not in html and "<script>document" not in html
    assert "&lt;img src=x onerror=document.title=&#39;pwned&#39;&gt;" in html
    assert "&#34;onload=" in html
    assert _parse(html).tags.count("script") == 1  # the page's own


def test_explain_all_lists_every_explained_pair(demo_dir, tmp_path, cli):
    code, _, err = cli("compare", demo_dir / "ref.safetensors", demo_dir / "port.safetensors",
                       "--explain", "all", "--json", tmp_path / "c.json",
                       "--html", tmp_path / "c.html")
    assert code == 1, err
    explained = json.loads((tmp_path / "c.json").read_text())["explained"]
    html = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert 'id="s0-heatmap"' in html  # compare --html read the first divergent pair
    later = [n for n in explained if n != FIRST]
    assert later and html.count('class="group failing explained"') == len(later)
    for name in later:
        assert f"<summary><code>{name}</code>" in html


def test_incomplete_port_is_the_verdict_with_its_reason(demo_dir, incomplete_port):
    result = compare_traces(demo_dir / "ref.safetensors", incomplete_port)
    html = render_html(result)
    assert result.status == "incomplete"
    verdict = html[html.index('id="verdict"'):html.index("</section>")]
    assert "incomplete" in verdict and "RuntimeError: shape mismatch in layer 1" in verdict
    assert "port trace is marked incomplete" in verdict


def test_combined_report_has_every_section(demo_dir, results_dir, cli, tmp_path):
    out = tmp_path / "all.html"
    code, _, err = cli("report", demo_dir / "compare.json", results_dir / "weights.json",
                            results_dir / "inspect.json", results_dir / "audio_compare.json",
                            results_dir / "speech.wav", "--out", out)
    assert code == 1, err  # the demo diverges, the weights and audio have problems
    html = out.read_text(encoding="utf-8")
    assert html.count('<section class="result') == 5
    assert 'id="s0-heatmap"' in html  # the traces named in compare.json were read
    assert "lm.model.layers.0.mlp.down_proj.weight" in html and "mismatch" in html
    assert html.count("<audio controls") == 3  # two inspected files and the WAV given
    assert html.count('data:audio/wav;base64,') == 3
    assert html.count('class="figure spectrogram"') == 3
    assert "clipping" in html and "scale" in html  # audio compare's causes
    assert all(u.startswith(("data:", "#")) for u in _parse(html).urls)


def test_report_without_the_traces_says_why_there_is_no_heat_map(demo_dir, tmp_path, cli):
    data = json.loads((demo_dir / "compare.json").read_text())
    data["ref"], data["port"] = "gone/ref.safetensors", "gone/port.safetensors"
    (tmp_path / "c.json").write_text(json.dumps(data))
    code, _, err = cli("report", tmp_path / "c.json", "--out", tmp_path / "c.html")
    assert code == 1, err
    html = (tmp_path / "c.html").read_text()
    assert "no heat map: the traces named in the result are not here" in html
    assert "rope_variant" in html and 'class="first"' in html


def test_report_of_a_parity_result_exits_0(demo_dir, tmp_path, cli):
    data = json.loads((demo_dir / "compare.json").read_text())
    for e in data["entries"]:
        e["ok"], e["status"] = True, "ok"
    data["status"], data["first_divergence"] = "parity", None
    (tmp_path / "p.json").write_text(json.dumps(data))
    code, _, err = cli("report", tmp_path / "p.json", "--out", tmp_path / "p.html")
    assert code == 0, err
    assert "parity" in (tmp_path / "p.html").read_text()


@pytest.mark.parametrize(("content", "problem"), [
    ("not json", "not a readable results JSON"),
    ('{"files": 3}', "not an audioparity result"),
    ('{"schema_version": 7, "entries": [], "first_divergence": null}', "schema version 7"),
])
def test_bad_results_json_is_one_line_exit_2(tmp_path, cli, content, problem):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code, _, err = cli("report", bad, "--out", tmp_path / "r.html")
    assert code == 2
    assert err.count("\n") == 1 and problem in err and str(bad) in err
    assert not (tmp_path / "r.html").exists()


def test_unwritable_output_is_exit_2_and_nothing_written(demo_dir, tmp_path, cli):
    (tmp_path / "ro").mkdir()
    code, _, err = cli("report", demo_dir / "compare.json", "--out", tmp_path / "ro")
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err
    assert list((tmp_path / "ro").iterdir()) == []
