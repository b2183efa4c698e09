"""Connections live like AWS's (issue 17.3): HTTP/1.1 kept alive, under concurrent clients.

A server that closes every connection makes pooling SDKs read a closed socket after a
write that landed and send it again (aws/aws-sdk-go-v2#1825, #2737): a conditional
write then fails although it succeeded. The sandbox keeps connections open, so a pooled
client reuses its sockets and every conditional write succeeds exactly once.
"""

from __future__ import annotations

import http.client
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from tests.sandbox._clients import javascript, stock_boto3

WRITES = 60
THREADS = 8


def _table(aws: Any, name: str) -> None:
    stock_boto3(aws.server, "dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _ports(aws: Any, operation: str) -> list[int]:
    return [c["client_port"] for c in aws.server.hooks.log() if c["operation"] == operation]


def test_a_raw_connection_serves_several_requests_without_connection_close(aws: Any) -> None:
    address = urlsplit(aws.endpoint_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/_sandbox/switches")
            reply = connection.getresponse()
            reply.read()
            assert reply.status == 200 and reply.version == 11
            assert (reply.getheader("Connection") or "").lower() != "close"
        socket_before = connection.sock
        connection.request("POST", "/moto-api/reset")
        connection.getresponse().read()
        assert connection.sock is socket_before  # the same TCP connection all along
    finally:
        connection.close()


def test_a_pooled_boto3_client_reuses_its_connections_for_many_conditional_writes(
    aws: Any,
) -> None:
    _table(aws, "pooled")
    ddb = stock_boto3(aws.server, "dynamodb", max_pool_connections=THREADS)
    aws.server.hooks.reset()

    def put(n: int) -> None:
        ddb.put_item(
            TableName="pooled",
            Item={"id": {"S": f"item-{n}"}},
            ConditionExpression="attribute_not_exists(id)",
        )

    for n in range(WRITES):
        put(n)  # the client retries nothing (total_max_attempts 1): a failure raises here
    sequential = _ports(aws, "PutItem")
    assert len(sequential) == WRITES and len(set(sequential)) == 1

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(put, range(WRITES, WRITES * 4)))
    concurrent = _ports(aws, "PutItem")[WRITES:]
    assert len(concurrent) == WRITES * 3
    assert len(set(concurrent)) <= THREADS  # at most one connection per pool slot
    scanned = stock_boto3(aws.server, "dynamodb").scan(TableName="pooled", Select="COUNT")
    assert scanned["Count"] == WRITES * 4


def test_the_javascript_sdk_s_pooled_writes_each_succeed_once(aws: Any) -> None:
    _table(aws, "pooled-js")
    aws.server.hooks.reset()
    result = javascript(aws.server, "writes", table="pooled-js", count=WRITES, concurrency=THREADS)
    assert result == {"written": WRITES * 2, "failures": []}
    ports = _ports(aws, "PutItem")
    assert len(ports) == WRITES * 2 and len(set(ports)) <= THREADS
