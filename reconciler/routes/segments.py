"""A Segment: the checked rows of one source of a table's items (its inline items, one
bulk file), in order, as the table puts them together (table_loading.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar, cast, overload

from reconciler.routes.errors import RouteError
from reconciler.routes.items import Item, ItemKey

K = TypeVar("K")
V = TypeVar("V")

# Where row i is reported: (file, line, column, field).
Locate = Callable[[int], tuple[str, int, int, str]]


@dataclass(frozen=True, slots=True)
class ItemSource:
    file: str
    line: int


class LineSources(Sequence[ItemSource]):
    """ItemSource(file, line) for each of `lines`, made when asked for: 100k of them
    would cost 8 MB to keep for a question that is rarely asked."""

    __slots__ = ("file", "lines")

    def __init__(self, file: str, lines: Sequence[int]) -> None:
        self.file = file
        self.lines = lines

    @overload
    def __getitem__(self, index: int) -> ItemSource: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[ItemSource]: ...
    def __getitem__(self, index: int | slice) -> ItemSource | Sequence[ItemSource]:
        if isinstance(index, slice):
            return LineSources(self.file, self.lines[index])
        return ItemSource(self.file, self.lines[index])

    def __len__(self) -> int:
        return len(self.lines)

    def __iter__(self) -> Iterator[ItemSource]:
        return map(partial(ItemSource, self.file), self.lines)


class LazyMapping(Mapping[K, V], Generic[K, V]):
    """The mapping of `keys[i] -> values[i]` over all `parts` (keys unique), made the
    first time it is read: where each of 100k items was declared is rarely asked, and
    building it costs as much as building the items."""

    __slots__ = ("_dict", "_parts")

    def __init__(self, parts: Sequence[tuple[Iterable[K], Iterable[V]]]) -> None:
        self._parts: Sequence[tuple[Iterable[K], Iterable[V]]] | None = parts
        self._dict: dict[K, V] | None = None

    def _built(self) -> dict[K, V]:
        built = self._dict
        if built is None:
            assert self._parts is not None
            built = {}
            for keys, values in self._parts:
                built.update(zip(keys, values, strict=True))
            self._dict, self._parts = built, None
        return built

    def __getitem__(self, key: K) -> V:
        return self._built()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())

    def __repr__(self) -> str:
        return repr(self._built())


@dataclass(frozen=True)
class Segment:
    """The rows of one source of items, in order.

    `by_key` is set when every row has a key and no key repeats (the usual case): the
    table then takes the segment whole instead of row by row, and the rows are its
    entries. Otherwise `rows` holds (key or None, item) for each row. `locate(i)` is
    where row i is reported.

    For a JSONL file, `lines` is every line read (blank and faulty ones too) and
    `row_of_line[n]` the row of line n+1 (None: every line is a row), so that the next
    read can patch this segment where only some lines changed.
    """

    count: int
    sources: Sequence[ItemSource]
    errors: tuple[RouteError, ...]
    locate: Locate
    by_key: dict[ItemKey, Item] | None = None
    rows: list[tuple[ItemKey | None, Item]] | None = None
    lines: Sequence[object] | None = None
    row_of_line: list[int] | None = None

    def keyed_rows(self) -> Iterable[tuple[ItemKey | None, Item]]:
        if self.by_key is not None:
            return self.by_key.items()
        assert self.rows is not None
        return self.rows


def segment(
    keys: list[ItemKey | None],
    items: list[Item],
    sources: Sequence[ItemSource],
    errors: tuple[RouteError, ...],
    locate: Locate,
    lines: Sequence[object] | None = None,
    row_of_line: list[int] | None = None,
) -> Segment:
    count = len(keys)
    if None not in keys:
        by_key = dict(zip(cast(list[ItemKey], keys), items, strict=True))
        if len(by_key) == count:
            return Segment(count, sources, errors, locate, by_key, None, lines, row_of_line)
    rows = list(zip(keys, items, strict=True))
    return Segment(count, sources, errors, locate, None, rows, lines, row_of_line)
