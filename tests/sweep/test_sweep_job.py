"""Running one job: exit codes, stderr tail, a timeout that ends the whole process tree."""

from __future__ import annotations

import time
from pathlib import Path

from audioparity.sweep.job import Job, run_job


def _job(tmp_path, *argv: str) -> Job:
    return Job(0, {"k": "1"}, tuple(argv), str(tmp_path / "000_k-1.wav"))


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that does not reap."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_failure_keeps_the_stderr_tail_and_both_logs(tmp_path):
    script = ("import sys\nprint('to stdout')\nfor i in range(40): print('line', i, "
              "file=sys.stderr)\nraise SystemExit(3)")
    job = _job(tmp_path, "python3", "-c", script)
    run = run_job(job, timeout_s=30)
    assert run.exit_code == 3 and not run.timed_out and run.start_error is None
    tail = run.stderr_tail.splitlines()
    assert tail[-1] == "line 39" and len(tail) == 15
    assert Path(job.stdout_log).read_text() == "to stdout\n"
    assert Path(job.stderr_log).read_text().count("\n") == 40


def test_missing_executable_is_reported_not_raised(tmp_path):
    run = run_job(_job(tmp_path, "no-such-generator-xyz", "--out", "x"), timeout_s=5)
    assert run.exit_code is None and "no-such-generator-xyz" in run.start_error


def test_timeout_kills_the_children_too(tmp_path):
    pid_file = tmp_path / "child.pid"
    job = _job(tmp_path, "/bin/sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait")
    start = time.perf_counter()
    run = run_job(job, timeout_s=1.0)
    assert run.timed_out and run.exit_code is None
    assert 1.0 <= time.perf_counter() - start < 10
    child = int(pid_file.read_text())
    for _ in range(50):  # the kernel reaps the orphan asynchronously
        if not _alive(child):
            break
        time.sleep(0.05)
    assert not _alive(child)
