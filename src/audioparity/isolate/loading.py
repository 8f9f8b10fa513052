"""Load a port named on the command line: ``module:NAME`` or ``path/to/file.py:NAME``.

``NAME`` is a port object (a torch or MLX module, a ``CallablePort``, a mapping of component
name -> module / session / callable) or a function taking no arguments that returns one.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError, UsageError
from ..sources.recorder import error_line


def load_port(spec: str) -> Any:
    """The object ``spec`` names (a factory function is called); InputError on failure."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise UsageError(f"--port must be MODULE:NAME or FILE.py:NAME (got {spec!r})")
    module = _import(where, spec)
    try:
        obj = getattr(module, attr)
    except AttributeError:
        public = [n for n, v in vars(module).items() if not n.startswith("_")
                  and getattr(v, "__module__", None) == module.__name__][:8]
        raise InputError(where, f"has no '{attr}' (it defines {', '.join(public)})") from None
    if inspect.isfunction(obj):
        try:
            obj = obj()
        except Exception as exc:  # noqa: BLE001 - the user's factory failed: say so, exit 2
            raise InputError(None, f"{spec}: building the port raised {error_line(exc)}"
                             ) from None
    return obj


def _import(where: str, spec: str) -> Any:
    path = Path(where)
    try:
        if where.endswith(".py"):
            if not path.is_file():
                raise InputError(path, "no such file")
            sys.path.insert(0, str(path.parent.resolve()))  # so it imports its siblings
            try:
                mod_spec = importlib.util.spec_from_file_location(path.stem, path)
                module = importlib.util.module_from_spec(mod_spec)
                mod_spec.loader.exec_module(module)
            finally:
                sys.path.remove(str(path.parent.resolve()))
            return module
        return importlib.import_module(where)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - importing user code can raise anything
        raise InputError(where, f"cannot import ({error_line(exc)}) for --port {spec}"
                         ) from None
