"""A port tensor stored as the reference stores it where the port's majority convention would
have moved it is reported (summary, notes, the pair's note) — decided by values and by the
port's own tensors of the same reference shape, never by shape alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audioparity.compare.conventions.infer import infer
from audioparity.compare.fingerprint import Fingerprints
from audioparity.trace import TensorInfo


@pytest.fixture(scope="module")
def conv_stack() -> dict[str, np.ndarray]:
    """Five real Conv1d outputs [1, 16, 40] (channels-first, PyTorch) and one [1, 40, 16]
    tensor a transformer would keep tokens × channels on both sides."""
    torch.manual_seed(0)
    x = torch.randn(1, 16, 40)
    out = {}
    with torch.no_grad():
        for k in range(5):
            x = torch.nn.Conv1d(16, 16, 3, padding=1)(x)
            out[f"conv{k}"] = x.numpy().copy()
    out["tokens"] = np.ascontiguousarray(out["conv4"].transpose(0, 2, 1))
    return out


def _infer(ref: dict[str, np.ndarray], port: dict[str, np.ndarray]):
    infos = ({n: TensorInfo(n, a.shape, "float32") for n, a in ref.items()},
             {n: TensorInfo(n, a.shape, "float32") for n, a in port.items()})
    return infer([(n, n) for n in ref], *infos, Fingerprints(ref.__getitem__, port.__getitem__))


def _channels_last(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(0, 2, 1))


def test_a_tensor_stored_channels_first_among_channels_last_ones_is_noted(conv_stack):
    port = {n: _channels_last(a) for n, a in conv_stack.items() if n.startswith("conv")}
    port["conv3"] = conv_stack["conv3"]            # the port moves this one back
    port["tokens"] = conv_stack["tokens"]          # [1, 40, 16]: no moved tensor has it
    readings = _infer(conv_stack, port)
    assert readings.by_ref["conv3"].is_identity   # compared as stored
    assert readings.applied["channels_last"] == 4
    note = readings.pair_notes["conv3"]
    assert "stored channels-first" in note and "4 tensors channels-last" in note
    assert "'conv2' [1, 16, 40] as [1, 40, 16]" in note    # the nearest moved one before it
    assert any(line.startswith("'conv3' [1, 16, 40]") for line in readings.notes)
    assert "except 1 stored channels-first: 'conv3'" in readings.summary()[0]
    assert "tokens" not in readings.pair_notes


def test_a_convention_held_by_a_minority_of_those_shapes_is_not_a_majority(conv_stack):
    """Two tensors moved, three stored alike (a port mostly channels-first, like mlx-audio's
    Mimi around its transformer): nothing is reported as breaking the convention."""
    port = dict(conv_stack)
    port["conv0"], port["conv1"] = _channels_last(conv_stack["conv0"]), \
        _channels_last(conv_stack["conv1"])
    readings = _infer(conv_stack, port)
    assert readings.applied["channels_last"] == 2
    assert not readings.pair_notes and not readings.breaks


def test_a_tensor_whose_values_differ_as_stored_is_not_called_a_convention_break(conv_stack):
    port = {n: _channels_last(a) for n, a in conv_stack.items() if n.startswith("conv")}
    port["conv3"] = conv_stack["conv3"] * 3.0     # a value bug, not a layout remark
    port["tokens"] = conv_stack["tokens"]
    assert "conv3" not in _infer(conv_stack, port).pair_notes


def test_the_break_is_marked_in_the_table_and_in_the_html_row(conv_stack, tmp_path):
    """The terminal table's "read as" says "as stored ≠ majority"; the HTML row says it too,
    with the pair's whole note, escaped, as its tooltip (a tensor name holding markup)."""
    from html.parser import HTMLParser

    from rich.console import Console

    from audioparity.compare import compare_traces
    from audioparity.report.html import render_html
    from audioparity.report.table import MAJORITY_BREAK, validation_table
    from audioparity.trace import write_trace

    ref = {("conv2<i>x" if n == "conv2" else n): a for n, a in conv_stack.items()}
    port = {n: _channels_last(a) for n, a in ref.items() if n.startswith("conv")}
    port["conv3"], port["tokens"] = ref["conv3"], ref["tokens"]
    result = compare_traces(write_trace(tmp_path / "ref.safetensors", ref),
                            write_trace(tmp_path / "port.safetensors", port))
    note = next(e for e in result.entries if e.name == "conv3").convention_note
    assert note and "'conv2<i>x'" in note

    console = Console(width=200, record=True)
    console.print(validation_table(result))
    rows = {line.split("│")[1].strip(): line for line in console.export_text().splitlines()
            if line.count("│") > 2}
    assert MAJORITY_BREAK in rows["conv3"]
    assert "channels_last" in rows["conv2<i>x"] and MAJORITY_BREAK not in rows["conv2<i>x"]
    assert MAJORITY_BREAK not in rows["tokens"]

    class Marks(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tooltips: list[str] = []
            self.tags: list[str] = []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            if ("class", "convention-note warn") in attrs:
                self.tooltips.append(dict(attrs)["title"])

    html = render_html(result)
    marks = Marks()
    marks.feed(html)
    assert marks.tooltips == [note]                       # one marked row, the whole note
    assert "i" not in marks.tags and "&lt;i&gt;" in html  # the name's markup is text
    assert f">{MAJORITY_BREAK}</span>" in html
