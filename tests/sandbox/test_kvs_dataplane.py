"""The emulated KVS data plane, over HTTP with stock boto3 clients (SigV4A-signed)."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.sandbox.kvs import store

MISSING_ARN = (
    "arn:aws:cloudfront::123456789012:key-value-store/00000000-0000-0000-0000-000000000000"
)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def kvs(aws: Any) -> Any:
    return aws.client("cloudfront-keyvaluestore")


@pytest.fixture
def arn(aws: Any) -> str:
    return str(
        aws.client("cloudfront").create_key_value_store(Name="tier-origins")["KeyValueStore"]["ARN"]
    )


def _etag(kvs: Any, arn: str) -> str:
    return str(kvs.describe_key_value_store(KvsARN=arn)["ETag"])


def test_requests_are_sigv4a_signed_and_routed_to_the_data_plane(
    aws: Any, kvs: Any, arn: str
) -> None:
    kvs.describe_key_value_store(KvsARN=arn)
    (entry,) = [e for e in aws.server.hooks.log() if e["service"] == "cloudfront-keyvaluestore"]
    assert entry["signature"] == "sigv4a"
    assert entry["operation"] == "DescribeKeyValueStore"
    assert entry["status"] == 200


def test_store_created_by_control_plane_is_visible_in_data_plane(kvs: Any, arn: str) -> None:
    described = kvs.describe_key_value_store(KvsARN=arn)
    assert described["KvsARN"] == arn
    assert described["ItemCount"] == 0
    assert described["TotalSizeInBytes"] == 0
    assert described["Status"] == "READY"
    assert described["ETag"]
    assert described["Created"] and described["LastModified"]


def test_every_write_returns_a_new_etag_and_consistent_counts(kvs: Any, arn: str) -> None:
    etag0 = _etag(kvs, arn)
    put = kvs.put_key(KvsARN=arn, Key="standard", Value="standard-api.example.com", IfMatch=etag0)
    assert put["ETag"] and put["ETag"] != etag0
    assert (put["ItemCount"], put["TotalSizeInBytes"]) == (
        1,
        len("standard") + len("standard-api.example.com"),
    )
    assert kvs.describe_key_value_store(KvsARN=arn)["ETag"] == put["ETag"]

    got = kvs.get_key(KvsARN=arn, Key="standard")
    assert (got["Key"], got["Value"], got["ItemCount"]) == (
        "standard",
        "standard-api.example.com",
        1,
    )

    upd = kvs.update_keys(
        KvsARN=arn,
        IfMatch=put["ETag"],
        Puts=[
            {"Key": "premium", "Value": "premium-api.example.com"},
            {"Key": "a/b c", "Value": "x"},
        ],
        Deletes=[{"Key": "standard"}],
    )
    assert upd["ETag"] not in (put["ETag"], etag0)
    assert upd["ItemCount"] == 2
    described = kvs.describe_key_value_store(KvsARN=arn)
    assert (described["ItemCount"], described["TotalSizeInBytes"]) == (2, upd["TotalSizeInBytes"])
    assert kvs.get_key(KvsARN=arn, Key="a/b c")["Value"] == "x"  # '/' inside a key survives

    deleted = kvs.delete_key(KvsARN=arn, Key="premium", IfMatch=upd["ETag"])
    assert deleted["ETag"] != upd["ETag"] and deleted["ItemCount"] == 1
    assert store.entries_for_arn(arn) == {"a/b c": "x"}


def test_stale_ifmatch_is_a_409_conflict_and_changes_nothing(kvs: Any, arn: str) -> None:
    stale = _etag(kvs, arn)
    kvs.put_key(KvsARN=arn, Key="k", Value="v1", IfMatch=stale)
    for call in (
        lambda: kvs.put_key(KvsARN=arn, Key="k", Value="v2", IfMatch=stale),
        lambda: kvs.delete_key(KvsARN=arn, Key="k", IfMatch=stale),
        lambda: kvs.update_keys(KvsARN=arn, IfMatch=stale, Puts=[{"Key": "k", "Value": "v3"}]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc) == ("ConflictException", 409)
    assert kvs.get_key(KvsARN=arn, Key="k")["Value"] == "v1"


def test_update_keys_is_all_or_nothing(kvs: Any, arn: str) -> None:
    etag = _etag(kvs, arn)
    with pytest.raises(ClientError) as exc:
        kvs.update_keys(
            KvsARN=arn,
            IfMatch=etag,
            Puts=[{"Key": "good", "Value": "v"}, {"Key": "bad", "Value": "x" * 1025}],
        )
    assert _error(exc) == ("ValidationException", 400)
    assert kvs.list_keys(KvsARN=arn)["Items"] == []
    assert _etag(kvs, arn) == etag


def test_update_keys_takes_at_most_50_operations(kvs: Any, arn: str) -> None:
    etag = _etag(kvs, arn)
    puts = [{"Key": f"k{i:02}", "Value": "v"} for i in range(50)]
    with pytest.raises(ClientError) as exc:
        kvs.update_keys(KvsARN=arn, IfMatch=etag, Puts=puts, Deletes=[{"Key": "other"}])
    assert _error(exc) == ("ServiceQuotaExceededException", 402)
    assert kvs.update_keys(KvsARN=arn, IfMatch=etag, Puts=puts)["ItemCount"] == 50


def test_update_keys_payload_over_3_mb_is_a_quota_error(kvs: Any, arn: str) -> None:
    puts = [{"Key": f"k{i}", "Value": "v" * 70_000} for i in range(50)]  # ~3.5 MB on the wire
    with pytest.raises(ClientError) as exc:
        kvs.update_keys(KvsARN=arn, IfMatch=_etag(kvs, arn), Puts=puts)
    assert _error(exc) == ("ServiceQuotaExceededException", 402)


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("k" * 512, "v", True),
        ("k" * 513, "v", False),
        ("é" * 256, "v", True),  # 512 bytes
        ("é" * 257, "v", False),  # 514 bytes: the limit is bytes, not characters
        ("k", "v" * 1024, True),
        ("k", "v" * 1025, False),
    ],
)
def test_key_and_value_size_limits(kvs: Any, arn: str, key: str, value: str, ok: bool) -> None:
    etag = _etag(kvs, arn)
    if ok:
        kvs.put_key(KvsARN=arn, Key=key, Value=value, IfMatch=etag)
        return
    with pytest.raises(ClientError) as exc:
        kvs.put_key(KvsARN=arn, Key=key, Value=value, IfMatch=etag)
    assert _error(exc) == ("ValidationException", 400)


def test_store_size_is_capped_at_5_mb(kvs: Any, arn: str) -> None:
    etag = _etag(kvs, arn)
    per_item = 512 + 1024
    items = [f"{i:0512}" for i in range(5 * 1024 * 1024 // per_item)]  # just under 5 MB
    for start in range(0, len(items), 50):
        puts = [{"Key": k, "Value": "v" * 1024} for k in items[start : start + 50]]
        etag = kvs.update_keys(KvsARN=arn, IfMatch=etag, Puts=puts)["ETag"]
    described = kvs.describe_key_value_store(KvsARN=arn)
    assert described["TotalSizeInBytes"] == len(items) * per_item
    with pytest.raises(ClientError) as exc:
        kvs.put_key(KvsARN=arn, Key="one-more", Value="v" * 1024, IfMatch=etag)
    assert _error(exc) == ("ServiceQuotaExceededException", 402)
    assert kvs.describe_key_value_store(KvsARN=arn)["ETag"] == etag


def test_missing_store_is_resource_not_found(kvs: Any) -> None:
    for call in (
        lambda: kvs.describe_key_value_store(KvsARN=MISSING_ARN),
        lambda: kvs.list_keys(KvsARN=MISSING_ARN),
        lambda: kvs.get_key(KvsARN=MISSING_ARN, Key="k"),
        lambda: kvs.put_key(KvsARN=MISSING_ARN, Key="k", Value="v", IfMatch="x"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc) == ("ResourceNotFoundException", 404)


def test_missing_key_is_resource_not_found(kvs: Any, arn: str) -> None:
    with pytest.raises(ClientError) as exc:
        kvs.get_key(KvsARN=arn, Key="nope")
    assert _error(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        kvs.delete_key(KvsARN=arn, Key="nope", IfMatch=_etag(kvs, arn))
    assert _error(exc) == ("ResourceNotFoundException", 404)


def test_list_keys_pages_hold_at_most_50(kvs: Any, arn: str) -> None:
    etag = _etag(kvs, arn)
    keys = [f"key-{i:03}" for i in range(120)]
    for start in range(0, 120, 50):
        puts = [{"Key": k, "Value": k.upper()} for k in keys[start : start + 50]]
        etag = kvs.update_keys(KvsARN=arn, IfMatch=etag, Puts=puts)["ETag"]

    first = kvs.list_keys(KvsARN=arn)
    assert len(first["Items"]) == 50 and first["NextToken"]
    pages = list(kvs.get_paginator("list_keys").paginate(KvsARN=arn))
    assert [len(p["Items"]) for p in pages] == [50, 50, 20]
    assert [i["Key"] for p in pages for i in p["Items"]] == keys
    small = kvs.list_keys(KvsARN=arn, MaxResults=7)
    assert [i["Key"] for i in small["Items"]] == keys[:7]
    assert (
        kvs.list_keys(KvsARN=arn, MaxResults=7, NextToken=small["NextToken"])["Items"][0]["Key"]
        == keys[7]
    )
    with pytest.raises(ClientError) as exc:
        kvs.list_keys(KvsARN=arn, MaxResults=51)
    assert _error(exc) == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        kvs.list_keys(KvsARN=arn, NextToken="not-a-token")
    assert _error(exc) == ("ValidationException", 400)


def test_control_plane_delete_removes_the_data_plane_store(aws: Any, kvs: Any, arn: str) -> None:
    cf = aws.client("cloudfront")
    etag = cf.describe_key_value_store(Name="tier-origins")["ETag"]
    cf.delete_key_value_store(Name="tier-origins", IfMatch=etag)
    with pytest.raises(ClientError) as exc:
        kvs.describe_key_value_store(KvsARN=arn)
    assert _error(exc) == ("ResourceNotFoundException", 404)


def test_moto_reset_clears_data_plane_state(aws: Any, kvs: Any, arn: str) -> None:
    kvs.put_key(KvsARN=arn, Key="k", Value="v", IfMatch=_etag(kvs, arn))
    urllib.request.urlopen(
        urllib.request.Request(f"{aws.endpoint_url}/moto-api/reset", method="POST")
    ).read()
    with pytest.raises(ClientError) as exc:
        kvs.get_key(KvsARN=arn, Key="k")
    assert _error(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(LookupError):
        store.entries_for_arn(arn)
