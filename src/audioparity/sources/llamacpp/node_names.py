"""Trace names for llama.cpp graph nodes, in execution order.

llama.cpp names the nodes it cares about (``attn_norm-0``, ``Qcur-0``, ``result_output``) and
reuses a name along a chain of ops: ``Qcur-0`` is the Q projection (``MUL_MAT``), its
reshape into heads and its RoPE. A repeat within one step becomes ``NAME#n`` (``n`` = 1, 2 …
in execution order), the trace format's repeat suffix. Nodes llama.cpp leaves unnamed get
ggml's ``node_<graph index>``, an index that moves with every setting that adds or drops a
node; they are named by their position after the last named node instead:
``kqv_out-0+1`` is the first unnamed node after ``kqv_out-0`` (llama.cpp's attention
output projection).

>>> namer = NodeNamer()
>>> [namer.name(n) for n in ["Qcur-0", "Qcur-0", "kqv_out-0", "node_32", "node_33", "l_out-0"]]
['Qcur-0', 'Qcur-0#1', 'kqv_out-0', 'kqv_out-0+1', 'kqv_out-0+2', 'l_out-0']
"""

from __future__ import annotations

import re

from ..naming import repeat_name

#: ggml's name for a node its graph builder left unnamed (``ggml_visit_parents``)
_UNNAMED = re.compile(r"^(node_\d+)?$")
#: prefix for unnamed nodes that come before any named one
START = "start"


def is_unnamed(ggml_name: str) -> bool:
    """Whether ``ggml_name`` is ggml's placeholder for an unnamed node (or empty)."""
    return bool(_UNNAMED.match(ggml_name))


class NodeNamer:
    """Turns the ggml names of the nodes of one step, in execution order, into trace names.

    Call :meth:`name` once per node, in the order the graph computes them; :meth:`reset`
    when a new step (a new ``@k/`` prefix) starts.
    """

    def __init__(self) -> None:
        self._repeats: dict[str, int] = {}
        self._last_named = START
        self._unnamed_since = 0

    def reset(self) -> None:
        """Start a new step: repeats count from zero again."""
        self.__init__()

    def name(self, ggml_name: str) -> str:
        """The trace name of the next node, whose ggml name is ``ggml_name``."""
        if is_unnamed(ggml_name):
            self._unnamed_since += 1
            base = f"{self._last_named}+{self._unnamed_since}"
        else:
            base = ggml_name
            self._last_named = ggml_name
            self._unnamed_since = 0
        repeat = self._repeats.get(base, 0)
        self._repeats[base] = repeat + 1
        return repeat_name(base, repeat)
