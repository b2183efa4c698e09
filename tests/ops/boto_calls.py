"""Which AWS operations a module can call, read from its source (ast), for the IAM tests.

A client is anything assigned from `make_client("<service>", ...)` (a local name or an
attribute such as `self._cf`), or returned by a method of the module. An operation is any
`<client>.<method>` (called or passed on), resolved through botocore's own model. Where
the name is chosen at run time (`get_paginator(x)`, `get_waiter(x)`, `getattr(client, x)`),
every string literal of the module that names a paginator, waiter or method of that
client counts: over-approximating is the safe side for a permissions check.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

import boto3


@cache
def _client(service: str) -> Any:
    return boto3.session.Session().client(
        service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _operation(service: str, method: str) -> str | None:
    return _client(service).meta.method_to_api_mapping.get(method)


def _waiter_operation(service: str, waiter: str) -> str | None:
    name = "".join(part.capitalize() for part in waiter.split("_"))
    spec = _client(service)._get_waiter_config().get("waiters", {}).get(name)
    return str(spec["operation"]) if spec else None


def _target(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _make_client_service(node: ast.AST) -> str | None:
    if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "make_client"):
        return None
    first = node.args[0] if node.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    if isinstance(first, ast.Name) and first.id == "KVS_SERVICE":
        return "cloudfront-keyvaluestore"
    raise AssertionError(f"make_client with a service this scanner cannot read: {ast.dump(node)}")


def operations(path: Path) -> set[tuple[str, str]]:
    """{(service, OperationName)} the module at `path` can call."""
    tree = ast.parse(path.read_text())
    clients: dict[str, str] = {}
    for node in ast.walk(tree):
        # `x = make_client(...)` and the typed `x: CloudFrontClient = make_client(...)`
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            service = _make_client_service(node.value)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets if service else ():
                name = _target(target)
                if name:
                    clients[name] = service  # type: ignore[assignment]
    # Methods that hand out a client (`def _lambda_client(self): ... return self._lambda`).
    accessors = {
        f"self.{fn.name}": clients[name]
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef)
        for ret in ast.walk(fn)
        if isinstance(ret, ast.Return)
        and ret.value is not None
        and (name := _target(ret.value) or "") in clients
    }
    strings = {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    found: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr":
            service = clients.get(_target(node.args[0]) or "")
            if service:
                found |= {(service, op) for s in strings if (op := _operation(service, s))}
            continue
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if isinstance(owner, ast.Call):
            service = accessors.get(_target(owner.func) or "")
        else:
            service = clients.get(_target(owner) or "")
        if service is None:
            continue
        # A method referenced counts as called: adapters pass `client.create_function` on.
        if node.attr == "get_paginator":
            found |= {(service, op) for s in strings if (op := _operation(service, s))}
        elif node.attr == "get_waiter":
            found |= {(service, op) for s in strings if (op := _waiter_operation(service, s))}
        elif (op := _operation(service, node.attr)) is not None:
            found.add((service, op))
    return found


# Where the IAM action prefix is not the SDK's service name (the Service Authorization
# Reference: DynamoDB Streams' actions are dynamodb:DescribeStream, ...).
_IAM_PREFIX = {"dynamodbstreams": "dynamodb"}


def iam_action(service: str, operation: str) -> str:
    return f"{_IAM_PREFIX.get(service, service)}:{operation}"
