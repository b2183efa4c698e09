"""The DynamoDB a Lambda@Edge test case reads: a plain moto server, started on demand.

DynamoDB needs no extension of moto, so the plain server is the faithful one here (no
project code between the SDK and moto). It runs in a child process: moto's backends are
process-wide, and the process running the tester may hold an emulated AWS of its own
(`reconciler run --sandbox`, the test session) whose routing table of the same name a
test case must not drop. A case's `items` are put into a freshly created table before
the case runs. The seeding client talks only to that local endpoint and
signs with the emulator's dummy credentials (reconciler/emulator.py): whatever the shell
holds is never used, and nothing here reaches real AWS.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.emulator import REGION, client_environment
from reconciler.functions.node import HarnessError, HarnessNotInstalled

# The child: a ThreadedMotoServer on a free port, its URL on stdout; it exits when stdin
# closes, so it also ends when this process dies (the pipe closes then).
_SERVER = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(f"http://{host}:{port}", flush=True)
sys.stdin.read()
server.stop()
"""

@dataclass(frozen=True)
class TableSpec:
    name: str
    partition_key: str = "tenantId"
    sort_key: str | None = "accountId"
    region: str = REGION

    @staticmethod
    def resolve(case_table: str | Mapping[str, Any] | None, config: Mapping[str, Any]) -> TableSpec | None:
        """The table a case's items go to: the case's `table`, else the function config's
        tableName/partitionKey/sortKey/region; None when neither names a table."""
        given: Mapping[str, Any] = (
            {"name": case_table} if isinstance(case_table, str) else (case_table or {})
        )
        name = given.get("name") or config.get("tableName")
        if not name:
            return None
        sort = given.get("sortKey", config.get("sortKey", "accountId"))
        return TableSpec(
            name=str(name),
            partition_key=str(given.get("partitionKey") or config.get("partitionKey") or "tenantId"),
            sort_key=str(sort) if sort else None,
            region=str(given.get("region") or config.get("region") or REGION),
        )


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_attribute(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    return {"S": str(value)}


class EmulatedDynamoDb:
    """A moto server (or the endpoint given), with table seeding. Thread-safe start."""

    def __init__(self, endpoint: str | None = None) -> None:
        self._endpoint = endpoint
        self._given = endpoint is not None
        self._server: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        with self._lock:
            if self._endpoint is None:
                self._endpoint = self._start_server()
            return self._endpoint

    def _start_server(self) -> str:
        if any(importlib.util.find_spec(m) is None for m in ("moto", "flask", "flask_cors")):
            # moto[server] is a dependency; a broken install lacks it.
            raise HarnessNotInstalled(
                "the Lambda@Edge test events need moto[server] (an emulated DynamoDB): "
                "reinstall edge-routing-reconciler, or give a DynamoDB endpoint"
            )
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # werkzeug logs every request there
            text=True,
            env={**client_environment(), "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("http://"):
            proc.kill()
            proc.wait()
            raise HarnessError(f"the emulated DynamoDB did not start (exit {proc.poll()})")
        self._server = proc
        return line

    def _client(self, region: str) -> Any:
        with self._lock:
            client = self._clients.get(region)
        if client is None:
            # Reads nothing from the shell (profile, credentials): the emulator's identity only.
            from reconciler.aws.clients import emulator_client

            client = emulator_client("dynamodb", self.endpoint, region)
            with self._lock:
                self._clients[region] = client
        return client

    def reset_table(self, table: TableSpec, items: Sequence[Mapping[str, Any]]) -> None:
        """Drop and recreate `table` holding exactly `items` (key attributes as strings)."""
        client = self._client(table.region)
        if table.name in client.list_tables()["TableNames"]:
            client.delete_table(TableName=table.name)
        keys = [(table.partition_key, "HASH")]
        if table.sort_key:
            keys.append((table.sort_key, "RANGE"))
        client.create_table(
            TableName=table.name,
            KeySchema=[{"AttributeName": n, "KeyType": t} for n, t in keys],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n, _ in keys],
            BillingMode="PAY_PER_REQUEST",
        )
        for item in items:
            client.put_item(
                TableName=table.name,
                Item={k: {"S": str(v)} if k in dict(keys) else _attribute(v) for k, v in item.items()},
            )

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            self._clients.clear()
            if not self._given:
                self._endpoint = None
        if server is not None:
            # A throwaway emulator: no state to flush, so no graceful werkzeug shutdown.
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            with contextlib.suppress(OSError):
                server.stdin.close()
                server.stdout.close()
