"""The HTML report opened in headless Debian Chromium: what a porter sees, and nothing runs
that the report did not write."""

from __future__ import annotations

import pytest
from browser import severe_console_messages

from audioparity.compare import compare_traces
from audioparity.report.html import write_html

pytestmark = pytest.mark.slow
FIRST = "lm.model.layers.0.self_attn.apply_rotary_pos_emb"


def _open(browser, path):
    browser.get(path.resolve().as_uri())
    browser.get_log("browser")  # drop what an earlier page logged
    browser.refresh()
    assert browser.execute_script("return document.readyState") == "complete"
    return browser


def _by_css(browser, selector):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, selector)


def test_demo_report_loads_without_console_errors(browser, demo_dir):
    page = _open(browser, demo_dir / "report.html")
    assert severe_console_messages(page) == []
    assert page.execute_script("return document.documentElement.dataset.ready") == "1"
    assert page.title.startswith("audioparity: divergent")


def test_chart_and_first_divergence_row_are_visible(browser, demo_dir):
    page = _open(browser, demo_dir / "report.html")
    chart = _by_css(page, "svg.error-chart")
    assert chart.is_displayed() and chart.size["width"] > 600 and chart.size["height"] > 150
    mark = _by_css(page, "svg.error-chart .first-divergence-mark")
    assert page.execute_script("return arguments[0].getBoundingClientRect().height", mark) > 100
    label = _by_css(page, "svg.error-chart text.mark")
    assert label.is_displayed() and FIRST in label.text
    row = _by_css(page, "tr.first")
    assert row.is_displayed() and FIRST in row.text
    heat = _by_css(page, "#s0-heatmap")
    assert heat.is_displayed() and page.execute_script(
        "return arguments[0].naturalWidth", heat) > 300  # the PNG decoded


def test_collapsed_component_opens_on_click(browser, demo_dir):
    page = _open(browser, demo_dir / "report.html")
    closed = [d for d in page.find_elements("css selector", "details.group")
              if d.get_attribute("open") is None
              and (d.get_attribute("id") or "").startswith("s0-group-")]
    assert closed, "every component is open: nothing to collapse"
    group = closed[0]
    row = group.find_element("css selector", "tr[id^='s0-pair-']")
    assert not row.is_displayed()
    summary = group.find_element("css selector", "summary")
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", summary)
    summary.click()
    assert group.get_attribute("open") is not None and row.is_displayed()


def test_clicking_a_chart_dot_reveals_its_row(browser, demo_dir):
    page = _open(browser, demo_dir / "report.html")
    last = page.find_elements("css selector", "svg.error-chart a")[-1]
    target = page.execute_script("return arguments[0].getAttribute('href')", last)[1:]
    row = _by_css(page, f"#{target}")
    assert not row.is_displayed()  # the last component starts collapsed
    last.find_element("css selector", "circle").click()
    assert row.is_displayed()
    assert severe_console_messages(page) == []


def test_names_with_markup_run_no_script(browser, markup_traces, tmp_path):
    out = tmp_path / "markup.html"
    write_html(out, compare_traces(*markup_traces))
    page = _open(browser, out)
    title = page.title
    assert "pwned" not in title and title.startswith("audioparity:")
    assert page.execute_script("return document.querySelectorAll('img[src=x]').length") == 0
    assert "<img src=x onerror=document.title='pwned'>" in _by_css(page, "tr.first").text
    assert page.execute_script("return window.__pwned === undefined")
    assert severe_console_messages(page) == []


def test_combined_report_plays_its_audio(browser, demo_dir, results_dir, tmp_path, cli):
    out = tmp_path / "all.html"
    cli("report", demo_dir / "compare.json", results_dir / "weights.json",
        results_dir / "inspect.json", results_dir / "audio_compare.json",
        results_dir / "speech.wav", "--out", out)
    page = _open(browser, out)
    durations = page.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const players = Array.from(document.querySelectorAll('audio'));
        Promise.all(players.map(a => a.readyState >= 1 ? a.duration : new Promise(ok => {
            a.addEventListener('loadedmetadata', () => ok(a.duration));
            a.addEventListener('error', () => ok(-1));
            a.load();
        }))).then(done);""")
    assert len(durations) == 3 and all(d > 1.0 for d in durations), durations
    spectrograms = page.find_elements("css selector", "img.spectrogram")
    assert len(spectrograms) == 3 and all(page.execute_script(
        "return arguments[0].naturalWidth", img) > 300 for img in spectrograms)
    assert _by_css(page, "#verdict").text.startswith("PROBLEMS FOUND")
    assert severe_console_messages(page) == []
