"""Scan pages that cost O(page), and a TableSizeBytes that is not always 0.

moto 5.2.5's Table.scan sorts every item of the table and walks from the first one to
find ExclusiveStartKey, on every page: a 100k-item table took ~7 s a page (benchmarks/
bench_sandbox.py). Here each table keeps a sorted index of its keys, maintained by the
two methods every write goes through (Table.put_item, Table.delete_item), so a page
starts with a bisection and reads only what it returns. Scans of a secondary index still
run moto's own code.

The page semantics are moto's, unchanged: the order of keys (sorted by hash key, then
range key; AWS's order is by the hash of the partition key, so no client may rely on
either), the 1 MB page size by moto's item size estimate, how Limit interacts with the
legacy ScanFilter, and the segment of an item (the first byte of an MD5 of its hash key,
modulo TotalSegments).

TableSizeBytes: AWS documents that DynamoDB updates it (and ItemCount) "approximately
every six hours. Recent changes might not be reflected in this value" (DescribeTable,
TableDescription). moto always reports 0, which made the reconciler's adapter size its
parallel scans for an empty table. The sandbox reports the current size (moto's item
size estimate, summed), recomputed on the first DescribeTable after a change. Gap from
AWS: the sandbox's figures are never stale, AWS's may be six hours old.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table
from sortedcontainers import SortedList

_INDEX_ATTR = "_reconciler_scan_index"
_VERSION_ATTR = "_reconciler_version"
_SIZE_ATTR = "_reconciler_size"  # (version, bytes)


def _sortable(value: DynamoType | None) -> Any:
    if value is None:
        return ""
    if value.type == "N":
        return Decimal(value.value)
    if value.type == "B":
        raw = value.value
        return raw if isinstance(raw, bytes) else str(raw).encode()
    return value.value


class KeyIndex:
    """The table's keys in scan order, rebuilt when moto replaces the items mapping.

    The server is threaded: every access to the sorted keys holds the lock, and a scan
    reads them in chunks after a key (not at an index, which a concurrent write shifts),
    so a page sees the table as a live table is seen, never a broken list.
    """

    CHUNK = 512

    def __init__(self, table: Table) -> None:
        self.lock = threading.Lock()
        self.items_id = id(table.items)
        # Sortable plain values per key -> the item (put_item replaces the object, an
        # update changes it in place: either way this maps to the table's current item).
        self.objects: dict[tuple[Any, Any], Item] = {_marker(i): i for i in _all_items(table)}
        self.keys: SortedList = SortedList(self.objects)
        self.segments: dict[Any, int] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> None:
        # moto deep-copies whole tables (TransactWriteItems' rollback copy): the copy
        # builds its own index when first scanned.
        return None

    def add(self, item: Item) -> None:
        marker = _marker(item)
        with self.lock:
            if marker not in self.objects:
                self.keys.add(marker)
            self.objects[marker] = item

    def discard(self, item: Item) -> None:
        marker = _marker(item)
        with self.lock:
            if self.objects.pop(marker, None) is not None:
                self.keys.remove(marker)

    @staticmethod
    def start_after(table: Table, exclusive_start_key: dict[str, Any] | None) -> Any:
        """The marker of ExclusiveStartKey (None: from the first key)."""
        if not exclusive_start_key:
            return None
        hash_value = DynamoType(exclusive_start_key[table.hash_key_attr])
        range_raw = exclusive_start_key.get(table.range_key_attr) if table.range_key_attr else None
        return (_sortable(hash_value), _sortable(DynamoType(range_raw) if range_raw else None))

    def after(self, marker: Any) -> Iterator[Item]:
        while True:
            with self.lock:
                start = 0 if marker is None else self.keys.bisect_right(marker)
                chunk = [(m, self.objects[m]) for m in self.keys.islice(start, start + self.CHUNK)]
            if not chunk:
                return
            for _, item in chunk:
                yield item
            marker = chunk[-1][0]

    def segment(self, hash_key: DynamoType) -> int:
        """0-255, as moto's Item.is_within_segment computes it (then modulo the total)."""
        found = self.segments.get(hash_key.value)
        if found is None:
            digest = hashlib.md5(hash_key.value.encode("utf8"), usedforsecurity=False).digest()
            found = self.segments[hash_key.value] = digest[0]
        return found


def _marker(item: Item) -> tuple[Any, Any]:
    return _sortable(item.hash_key), _sortable(item.range_key)


def _all_items(table: Table) -> Iterator[Item]:
    # moto types table.items for range-key tables; a hash-only table maps to items directly.
    items: dict[Any, Any] = table.items
    for value in items.values():
        if table.range_key_attr:
            yield from value.values()
        else:
            yield value


_BUILD_LOCK = threading.Lock()


def index_of(table: Table) -> KeyIndex:
    index: KeyIndex | None = getattr(table, _INDEX_ATTR, None)
    if index is None or index.items_id != id(table.items):
        with _BUILD_LOCK:  # one build, which a concurrent write cannot slip past
            index = getattr(table, _INDEX_ATTR, None)
            if index is None or index.items_id != id(table.items):
                index = KeyIndex(table)
                setattr(table, _INDEX_ATTR, index)
    return index


def _changed(table: Table) -> None:
    setattr(table, _VERSION_ATTR, getattr(table, _VERSION_ATTR, 0) + 1)


def scan(
    self: Table,
    filters: dict[str, Any],
    limit: int,
    exclusive_start_key: dict[str, Any],
    filter_expression: Any = None,
    index_name: str | None = None,
    consistent_read: bool = False,
    projection_expression: list[list[str]] | None = None,
    segments: tuple[None, None] | tuple[int, int] = (None, None),
) -> tuple[list[Item], int, dict[str, Any] | None]:
    """moto's Table.scan without an index, from a bisection instead of the first item."""
    index = index_of(self)
    segment, total = segments
    results: list[Item] = []
    result_size = scanned_count = 0
    last_evaluated_key = None
    for item in index.after(index.start_after(self, exclusive_start_key)):
        if total is not None and index.segment(item.hash_key) % total != segment:
            continue
        size = item_size(self, item)
        if len(results) == limit or result_size + size > RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
            break
        if _passes(item, filters):
            # moto copies every item; only a projection builds on the copy (the answer is
            # written out before the next request can change the table).
            results.append(copy.deepcopy(item) if projection_expression else item)
            result_size += size
        scanned_count += 1
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expression:
        results = [r.project(projection_expression) for r in results]
    return results, scanned_count, last_evaluated_key


def _passes(item: Item, filters: dict[str, Any]) -> bool:
    """The legacy ScanFilter conditions, exactly as moto's loop applies them."""
    for attribute_name, (operator, values) in filters.items():
        attribute = item.attrs.get(attribute_name)
        if attribute:
            if not attribute.compare(operator, values):
                return False
        elif operator != "NULL":
            return False
    return True


def item_size(table: Table, item: Item) -> int:
    """moto's size estimate of an item, kept until the table changes."""
    version = getattr(table, _VERSION_ATTR, 0)
    cached: tuple[int, int] | None = getattr(item, _SIZE_ATTR, None)
    if cached is None or cached[0] != version:
        cached = (version, item.size())
        setattr(item, _SIZE_ATTR, cached)
    return cached[1]


def table_size(table: Table) -> int:
    version = getattr(table, _VERSION_ATTR, 0)
    cached: tuple[int, int] | None = getattr(table, _SIZE_ATTR, None)
    if cached is None or cached[0] != version:
        cached = (version, sum(item_size(table, item) for item in _all_items(table)))
        setattr(table, _SIZE_ATTR, cached)
    return cached[1]


# -- the patches -----------------------------------------------------------------------


def _scan(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def dispatch(self: Table, *args: Any, **kwargs: Any) -> Any:
        # moto's backend passes (filters, limit, start key, filter expression, index name, ...)
        if kwargs.get("index_name") or (len(args) > 4 and args[4]):
            return original(self, *args, **kwargs)
        return scan(self, *args, **kwargs)

    return dispatch


def _put(original: Callable[..., Item]) -> Callable[..., Item]:
    @functools.wraps(original)
    def put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item = original(self, *args, **kwargs)
        index_of(self).add(item)
        _changed(self)
        return item

    return put_item


def _delete(original: Callable[..., Item | None]) -> Callable[..., Item | None]:
    @functools.wraps(original)
    def delete_item(self: Table, *args: Any, **kwargs: Any) -> Item | None:
        item = original(self, *args, **kwargs)
        if item is not None:
            index_of(self).discard(item)
            _changed(self)
        return item

    return delete_item


def _update(original: Callable[..., Item]) -> Callable[..., Item]:
    # An update of an existing item changes it in place, past put_item: its size moves.
    @functools.wraps(original)
    def update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kwargs: Any) -> Item:
        item = original(self, table_name, *args, **kwargs)
        _changed(self.get_table(table_name))
        return item

    return update_item


def _describe(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    @functools.wraps(original)
    def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        described = original(self, base_key)
        described[base_key]["TableSizeBytes"] = table_size(self)
        return described

    return describe


def install() -> None:
    table: Any = Table
    table.scan = _scan(table.scan)
    table.put_item = _put(table.put_item)
    table.delete_item = _delete(table.delete_item)
    table.describe = _describe(table.describe)
    backend: Any = DynamoDBBackend
    backend.update_item = _update(backend.update_item)
