"""Wire hooks: call counts, fault injection and behaviour switches on the sandbox's wire.

middleware.py is the WSGI middleware and its Python API, control.py the same over HTTP
under /_sandbox/, faults.py what each fault answers (and where those answers come from),
races.py the "another writer" actions.
"""

from reconciler.sandbox.hooks.faults import FaultKind
from reconciler.sandbox.hooks.middleware import CONTROL_PREFIX, WireCall, WireHooks
from reconciler.sandbox.hooks.races import kvs_race

__all__ = ["CONTROL_PREFIX", "FaultKind", "WireCall", "WireHooks", "kvs_race"]
