"""The emulated AWS (moto, extended from outside with what it lacks), as a package with a face.

`start(port=0, seed=False) -> Sandbox` (face.py) is the way in; the rest is internal:
server.py (HTTP/1.1 server), gateway.py (proxy mode, code downloads, request context),
hooks/ (call counts, faults, switches), cloudfront/, kvs/, dynamodb/, awslambda/ (the
extensions, each stating its gaps from AWS), seed.py (the walkthrough's console steps).
docs/sandbox.md documents what any client can expect.
"""

from reconciler.sandbox.face import Sandbox, start
from reconciler.sandbox.server import SandboxStartError

__all__ = ["Sandbox", "SandboxStartError", "start"]
