"""``audioparity --version``: the installed version, exit 0, no command module imported."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version


def test_version_prints_the_installed_version_and_exits_0(cli):
    code, out, err = cli("--version")
    assert code == 0 and err == ""
    assert out == f"audioparity {version('audioparity')}\n"


def test_version_imports_no_command_module():
    probe = ("import sys; from audioparity.cli.main import main; code = main(['--version']); "
             "print(code, sorted(m for m in sys.modules if m.startswith('audioparity.cli.')),"
             " 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout.splitlines()
    assert out[0].startswith("audioparity ")
    assert out[1] == "0 ['audioparity.cli.json_output', 'audioparity.cli.main'] False"


def test_help_lists_the_version_option_and_the_capture_group(cli):
    code, out, _ = cli("--help")
    assert code == 0 and "--version" in out and "capture" in out
