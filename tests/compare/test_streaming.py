"""Big traces stream: a compared pair's mapped pages are released, reader notes reach the
report."""

from __future__ import annotations

import numpy as np
import psutil
import pytest

from audioparity.compare import compare_traces
from audioparity.trace import open_trace, write_trace

MB = 1 << 20


def _rss() -> int:
    return psutil.Process().memory_info().rss


def test_released_tensor_leaves_the_resident_set_and_reads_back_the_same(tmp_path):
    x = np.random.default_rng(0).standard_normal(16 * MB, dtype=np.float32)  # 64 MB
    path = write_trace(tmp_path / "big.safetensors", {"big": x, "small": x[:10]})
    del x
    with open_trace(path) as trace:
        total = float(trace.read("big").sum(dtype=np.float64))  # touches every page
        resident = _rss()
        trace.release("big")
        assert _rss() < resident - 32 * MB  # the 64 MB of pages are no longer ours
        assert float(trace.read("big").sum(dtype=np.float64)) == pytest.approx(total)
        trace.release()  # the whole file, also fine to repeat
        assert trace.read("small").shape == (10,)


def test_compare_reports_what_the_reader_noticed(tmp_path):
    tensors = {"a": np.ones(3, np.float32), "b": np.zeros(2, np.float32)}
    np.savez(tmp_path / "port.npz", **tensors)
    misnamed = (tmp_path / "port.npz").rename(tmp_path / "port.safetensors")
    result = compare_traces(write_trace(tmp_path / "ref.safetensors", tensors), misnamed)
    assert result.status == "parity"
    assert any(n.startswith("port trace:") and ".npz" in n for n in result.notes)
