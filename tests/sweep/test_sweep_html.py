"""``audioparity sweep --html F``: one self-contained page with the ranking, a player and a
spectrogram per result; names escaped, audio size-capped; opened in headless Chromium."""

from __future__ import annotations

import base64
import json
import os
import shlex
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

MARKUP = "<img src=x onerror=document.title='pwned'>"


class _Page(HTMLParser):
    """The elements the tests look at: tags with their attributes, and the visible text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.fixture(scope="module")
def swept(generator, clean_wav, tmp_path_factory):
    """A sweep with --ref and --html: a clean take, a clipped take whose setting is HTML
    markup, and a take that fails. Returns (exit code, the JSON, the page's path)."""
    from audioparity.cli.main import main

    out = tmp_path_factory.mktemp("sweep_html")
    gen = shlex.join(generator)
    script = (f"case {{take}} in clean) {gen} --out {{out}};; broken) echo boom >&2; "
              f"exit 3;; *) {gen} --cfg 7 --out {{out}};; esac")
    code = main(["sweep", "-g", f"take=clean,{MARKUP},broken", "--shell", "-j", "1",
                 "--no-vad", "--ref", str(clean_wav), "-o", str(out / "runs"),
                 "--json", str(out / "sweep.json"), "--html", str(out / "sweep.html"),
                 "--", script])
    return code, json.loads((out / "sweep.json").read_text()), out / "sweep.html"


def test_page_has_ranking_players_and_spectrograms(swept):
    code, data, path = swept
    assert code == 0
    html = path.read_text()
    page = _parse(html)
    players = page.all("audio")
    assert len(players) == 3  # the reference and the two WAVs; the failed take has none
    for player in players:
        head, _, payload = player["src"].partition(",")
        assert head == "data:audio/wav;base64"
        assert base64.b64decode(payload)[:4] == b"RIFF"
    spectrograms = [a for a in page.all("img") if "spectrogram" in a.get("class", "")]
    assert len(spectrograms) == 3
    assert all(a["src"].startswith("data:image/png;base64,") for a in spectrograms)
    rows = [a["id"] for a in page.all("tr") if a.get("id", "").startswith("row-job-")]
    assert rows == [f"row-job-{j['index']}" for j in data["jobs"]]  # ranked order
    assert [j["params"]["take"] for j in data["jobs"]] == ["clean", MARKUP, "broken"]
    text = "".join(page.text)
    assert "exit code 3: boom" in text and "best: take=clean → speech" in text
    assert "similarity to the reference" in text
    # self-contained: nothing loaded from anywhere, no script at all
    assert page.all("script") == [] and page.all("link") == []
    assert not any(a.get("src", "").startswith(("http", "//", "file")) for _, a in page.tags)


def test_markup_in_a_setting_is_text(swept):
    _, _, path = swept
    html = path.read_text()
    assert MARKUP not in html and "<img src=x" not in html
    assert "take=&lt;img src=x onerror=document.title=&#39;pwned&#39;&gt;" in html
    assert sum(1 for t, _ in _parse(html).tags if t == "img") == 3  # the spectrograms only


def test_audio_past_the_caps_gets_a_note(swept, monkeypatch):
    from audioparity.report import sweep_html

    _, data, _ = swept
    sizes = sorted(Path(j["out"]).stat().st_size for j in data["jobs"] if j["audio"])
    monkeypatch.setattr(sweep_html, "MAX_TOTAL_EMBED_BYTES", Path(data["ref"]).stat().st_size
                        + sizes[0] + 10)
    page = _parse(sweep_html.render_sweep_html(data))
    assert len(page.all("audio")) == 2  # the reference, then the best result; budget spent
    assert "spent on the better-ranked results" in "".join(page.text)
    monkeypatch.setattr(sweep_html, "MAX_EMBED_BYTES", 1000)
    page = _parse(sweep_html.render_sweep_html(data))
    assert page.all("audio") == []
    assert "too large to embed" in "".join(page.text)
    assert len([a for a in page.all("img") if "spectrogram" in a.get("class", "")]) == 3
    monkeypatch.setattr(sweep_html, "MAX_PLAYERS", 1)
    page = _parse(sweep_html.render_sweep_html(data))
    assert len([a for a in page.all("img") if "spectrogram" in a.get("class", "")]) == 2
    assert "past the first 1 results" in "".join(page.text)


@pytest.mark.parametrize("target, problem", [
    ("dir", "is a directory"),
    ("notes.txt/sub/page.html", "notes.txt is not a writable folder"),
])
def test_an_unwritable_page_is_refused_before_the_sweep_runs(cli, tmp_path, target, problem):
    (tmp_path / "dir").mkdir()
    (tmp_path / "notes.txt").write_text("a file where a folder would have to be")
    code, _, err = cli("sweep", "-g", "k=1", "-o", tmp_path / "runs", "--html",
                       tmp_path / target, "--", sys.executable, "-c", "pass", "{k}", "{out}")
    assert code == 2 and err.count("\n") == 1 and problem in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_page_opens_in_chromium_without_console_errors(swept):
    if os.environ.get("AUDIOPARITY_NO_BROWSER") == "1":
        pytest.skip("AUDIOPARITY_NO_BROWSER=1: the browser checks are off")
    sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
    from browser import (
        BrowserUnavailable,
        severe_console_messages,
        start_chromium,
        stop_chromium,
    )

    path = swept[2]
    try:
        driver = start_chromium()
    except BrowserUnavailable as exc:
        pytest.fail(f"the sweep page is tested in headless Chromium: {exc}", pytrace=False)
    try:
        driver.get(path.resolve().as_uri())
        assert severe_console_messages(driver) == []
        assert driver.title == "audioparity sweep: 3 settings"
        for _ in range(100):  # players load their metadata asynchronously
            durations = driver.execute_script(
                "return Array.prototype.map.call(document.querySelectorAll('audio'),"
                " function (a) { return a.readyState > 0 ? a.duration : null; });")
            if None not in durations:
                break
            time.sleep(0.1)
        assert len(durations) == 3
        assert None not in durations and min(durations) > 2  # every WAV decoded
        best = driver.find_element("css selector", "tr.best")
        assert best.is_displayed() and "take=clean" in best.text
    finally:
        stop_chromium(driver)
