"""The embedded sandbox's read cost: Scan a big table and ListKeys a full store through boto3.

The sandbox is the main job's embedded default (`run --sandbox`), so reading the whole
routing state must cost O(page) per page, not O(table). This script loads a table and a
KeyValueStore over the wire, then times the complete paginated reads a reconciler pass
makes, and prints one table. Usage:

    python benchmarks/bench_sandbox.py                 # 100k items, a 5 MB store
    python benchmarks/bench_sandbox.py --items 10000 --store-mb 1   # smaller

Columns: `calls` is the number of requests of the read, `seconds` its wall time, `per
call` the mean, `first/last` the time of the first and the last page (equal when a page
costs O(page); the last one grows with the table when a page costs O(table)).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reconciler import emulator

os.environ.update(emulator.CREDENTIALS, AWS_DEFAULT_REGION=emulator.REGION)

from reconciler.aws.clients import KVS_SERVICE, AwsTarget, make_client

TABLE = "bench-tenants"
KEY_BYTES = 40
VALUE_BYTES = 180  # 22.7k keys of 220 bytes fill a 5 MB store, like the scale benchmark's


@dataclass
class Row:
    what: str
    size: str
    calls: int
    seconds: float
    first: float
    last: float

    def line(self) -> str:
        per_call = self.seconds / max(1, self.calls) * 1000
        return (
            f"| {self.what} | {self.size} | {self.calls} | {self.seconds:.2f} | "
            f"{per_call:.1f} ms | {self.first * 1000:.1f} / {self.last * 1000:.1f} ms |"
        )


def start_sandbox() -> tuple[Any, str]:
    from reconciler import sandbox

    handle = sandbox.start()
    return handle, handle.endpoint_url


def load_table(target: AwsTarget, items: int) -> float:
    dynamodb = make_client("dynamodb", target)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "tenantId", "KeyType": "HASH"},
            {"AttributeName": "accountId", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "tenantId", "AttributeType": "S"},
            {"AttributeName": "accountId", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )

    def batch(start: int) -> None:
        client = make_client("dynamodb", target)
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "tenantId": {"S": f"tenant-{i // 10:06d}"},
                        "accountId": {"S": f"{i % 10:04d}"},
                        "defaultBackend": {"S": f"backend-{i % 7}.example.com"},
                    }
                }
            }
            for i in range(start, min(start + 25, items))
        ]
        pending: dict[str, Any] = {TABLE: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    began = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(batch, range(0, items, 25)))
    return time.perf_counter() - began


def scan_all(target: AwsTarget) -> tuple[int, int, list[float]]:
    dynamodb = make_client("dynamodb", target)
    kwargs: dict[str, Any] = {"TableName": TABLE}
    count = calls = 0
    times: list[float] = []
    while True:
        began = time.perf_counter()
        page = dynamodb.scan(**kwargs)
        times.append(time.perf_counter() - began)
        calls += 1
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count, calls, times
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def load_store(target: AwsTarget, megabytes: float) -> tuple[str, int, float]:
    cloudfront = make_client("cloudfront", target)
    kvs = make_client(KVS_SERVICE, target)
    arn = cloudfront.create_key_value_store(Name="bench-store")["KeyValueStore"]["ARN"]
    keys = int(megabytes * 1024 * 1024 * 0.99) // (KEY_BYTES + VALUE_BYTES)
    etag = kvs.describe_key_value_store(KvsARN=arn)["ETag"]
    began = time.perf_counter()
    for start in range(0, keys, 50):
        puts = [
            {"Key": f"k{i:0{KEY_BYTES - 1}d}", "Value": "v" * VALUE_BYTES}
            for i in range(start, min(start + 50, keys))
        ]
        etag = kvs.update_keys(KvsARN=arn, IfMatch=etag, Puts=puts)["ETag"]
    return arn, keys, time.perf_counter() - began


def list_all(target: AwsTarget, arn: str) -> tuple[int, int, list[float]]:
    kvs = make_client(KVS_SERVICE, target)
    kwargs: dict[str, Any] = {"KvsARN": arn}
    count = calls = 0
    times: list[float] = []
    while True:
        began = time.perf_counter()
        page = kvs.list_keys(**kwargs)
        times.append(time.perf_counter() - began)
        calls += 1
        count += len(page.get("Items") or [])
        if not page.get("NextToken"):
            return count, calls, times
        kwargs["NextToken"] = page["NextToken"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--store-mb", type=float, default=5.0)
    args = parser.parse_args()

    handle, endpoint = start_sandbox()
    target = AwsTarget(endpoint_url=endpoint, max_attempts=3)
    rows: list[Row] = []
    try:
        load_seconds = load_table(target, args.items)
        print(f"# loaded {args.items} items in {load_seconds:.1f} s (BatchWriteItem, 4 threads)")
        began = time.perf_counter()
        count, calls, times = scan_all(target)
        rows.append(
            Row("Scan, whole table", f"{count} items", calls, time.perf_counter() - began,
                times[0], times[-1])
        )  # fmt: skip
        described = make_client("dynamodb", target).describe_table(TableName=TABLE)["Table"]
        print(
            f"# DescribeTable: ItemCount {described['ItemCount']}, "
            f"TableSizeBytes {described['TableSizeBytes']}"
        )
        arn, keys, load_seconds = load_store(target, args.store_mb)
        print(f"# loaded {keys} keys in {load_seconds:.1f} s (UpdateKeys of 50)")
        began = time.perf_counter()
        count, calls, times = list_all(target, arn)
        rows.append(
            Row("ListKeys, whole store", f"{count} keys ({args.store_mb:g} MB)", calls,
                time.perf_counter() - began, times[0], times[-1])
        )  # fmt: skip
    finally:
        handle.stop()
    print("| read | size | calls | seconds | per call | first / last page |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.line())


if __name__ == "__main__":
    main()
