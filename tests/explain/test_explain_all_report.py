"""``--explain all`` in the terminal: every explained pair shown, one block per component
(first pair with a named cause in full, one line for each other pair), on a real torch
model whose port has two wrong activations in two components."""

from __future__ import annotations

import torch
from rich.console import Console

from audioparity.compare import compare_traces
from audioparity.report.table import explained_panel, print_report
from audioparity.sources.torch_capture import capture


def _model(first_act: torch.nn.Module, second_act: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Sequential(torch.nn.Linear(16, 16), first_act),
        torch.nn.Sequential(torch.nn.Linear(16, 16), second_act),
        torch.nn.Linear(16, 4)).eval()


def _result(tmp_path, explain: str):
    x = torch.randn(8, 16, generator=torch.Generator().manual_seed(1)) * 2
    paths = []
    for side, acts in (("ref", (torch.nn.GELU(), torch.nn.LeakyReLU(0.01))),
                       ("port", (torch.nn.GELU(approximate="tanh"), torch.nn.LeakyReLU(0.2)))):
        model = _model(*acts)
        path = tmp_path / f"{side}.safetensors"
        with torch.no_grad(), capture(model, path, inputs=True):
            model(x)
        paths.append(path)
    return compare_traces(*paths, explain=explain)


def _text(result) -> str:
    console = Console(width=120, record=True, color_system=None)
    print_report(result, console)
    return console.export_text()


def test_every_explained_pair_is_shown_collapsed_by_component(tmp_path):
    result = _result(tmp_path, "all")
    assert result.first_divergence.name == "0.1"
    text = _text(result)
    panel = text[text.index("every explained pair"):]
    for name in result.explained:  # every pair: in full or on its own line
        assert f" {name} " in panel or f" {name}\n" in panel, name
    assert "0.1 (first divergence, above)  activation" in panel
    # the second component's wrong slope is named in full, with both slopes
    assert "ref = leaky_relu(0.01)(input), port = leaky_relu(0.2)(input)" in panel
    assert "the reference's slope is 0.01, the port's 0.2" in panel
    blocks = [line for line in panel.splitlines() if " pairs" in line or " pair " in line]
    assert len(blocks) >= 2


def test_explain_first_shows_no_explained_panel(tmp_path):
    result = _result(tmp_path, "first")
    assert explained_panel(result) is None
    assert "every explained pair" not in _text(result)
