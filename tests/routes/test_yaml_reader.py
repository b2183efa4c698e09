"""The positioned YAML reader: lines, duplicates, types, and hostile input in bounded time."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from reconciler.routes.errors import ErrorSink
from reconciler.routes.yaml_reader import Position, YamlLimits, format_path, read_yaml_documents


def _read(text: str, limits: YamlLimits | None = None) -> tuple[list[object], list[str], ErrorSink]:
    sink = ErrorSink()
    documents = read_yaml_documents(text, "f.yaml", sink, limits)
    return [d.data for d in documents], [e.code for e in sink.errors], sink


def test_every_field_has_its_line_and_column() -> None:
    sink = ErrorSink()
    (doc,) = read_yaml_documents("a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n", "f.yaml", sink)
    locate = doc.locations.locate
    assert locate(("a", "b")) == Position(2, 3)
    assert locate(("a", "c", 0)) == Position(4, 7)
    assert locate(("a", "c", 1, "d")) == Position(5, 8)
    # A field that is not there is reported where its parent is.
    assert locate(("a", "c", 1, "missing")) == Position(5, 7)


def test_several_documents_and_empty_ones() -> None:
    data, codes, _ = _read("a: 1\n---\n---\n# only a comment\n---\nb: 2\n")
    assert data == [{"a": 1}, {"b": 2}] and codes == []


def test_scalars_resolve_like_yaml_but_floats_are_decimal_and_dates_text() -> None:
    data, _, _ = _read(
        "a: 0.1\nb: 0x10\nc: yes\nd: null\ne: 2024-01-01\nf: '1'\ng: 1_000\nh: -.inf\n"
    )
    assert data == [
        {
            "a": Decimal("0.1"),
            "b": 16,
            "c": True,
            "d": None,
            "e": "2024-01-01",
            "f": "1",
            "g": 1000,
            "h": Decimal("-Infinity"),
        }
    ]


def test_keys_are_always_text() -> None:
    data, codes, _ = _read("on: a\nno: b\n1: c\nnull: d\n")
    assert data == [{"on": "a", "no": "b", "1": "c", "null": "d"}] and codes == []


def test_duplicate_keys_are_reported_and_the_first_kept() -> None:
    data, codes, sink = _read("a: 1\nb: 2\na: 3\n")
    assert data == [{"a": 1, "b": 2}] and codes == ["yaml-duplicate-key"]
    assert (sink.errors[0].line, sink.errors[0].field) == (3, "a")


def test_merge_keys_explicit_keys_win() -> None:
    data, codes, _ = _read("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n")
    assert data == [{"base": {"x": 1, "y": 2}, "m": {"x": 1, "y": 3}}] and codes == []


def test_merge_of_a_scalar_is_an_error() -> None:
    _, codes, _ = _read("m:\n  <<: 3\n")
    assert codes == ["yaml-merge-invalid"]


def test_billion_laughs_is_rejected_fast_and_small() -> None:
    levels = "".join(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]\n" for i in range(1, 12))
    bomb = "l0: &l0 [lol]\n" + levels  # 10**11 nodes if expanded
    started = time.perf_counter()
    data, codes, _ = _read(bomb)
    assert time.perf_counter() - started < 0.5
    assert codes == ["yaml-alias-expansion"] and data == []


def test_modest_aliasing_is_fine() -> None:
    data, codes, _ = _read("a: &a {x: 1}\nb: *a\nc: *a\n")
    assert codes == [] and data == [{"a": {"x": 1}, "b": {"x": 1}, "c": {"x": 1}}]


def test_node_count_is_bounded() -> None:
    _, codes, _ = _read("[" + ",".join(["1"] * 200) + "]\n", YamlLimits(max_nodes=100))
    assert codes == ["yaml-too-many-nodes"]


def test_deep_nesting_is_rejected_without_recursion() -> None:
    _, codes, _ = _read("a: " + "[" * 500 + "]" * 500 + "\n")
    assert codes in (["yaml-too-deep"], ["yaml-syntax"])


def test_syntax_error_keeps_earlier_documents() -> None:
    data, codes, sink = _read("a: 1\n---\nb: [\n")
    assert data == [{"a": 1}] and codes == ["yaml-syntax"]
    # The parser gives up at the end of the file; the byte at fault is the unclosed '['.
    assert (sink.errors[0].line, sink.errors[0].column) == (3, 4)
    assert "never closed" in sink.errors[0].message


SYNTAX_POSITIONS = [
    # (text, line, column of the byte at fault)
    ('a: 1\nb: "open\nc: 3\n', 2, 4),  # unterminated quote: reported at the quote
    ("a: 1\nb: 'open\n", 2, 4),
    ("m:\n  a: 1\n  oops\n  b: 2\n", 3, 3),  # a line without ':': that line, not the next
    ("m:\n  a: 1\n  oops\n", 3, 3),
    ("a: {b: 1\nc: 2\n", 1, 4),  # an unclosed flow mapping
    ("a: [1, 2\n", 1, 4),
    ("a: {b: 1, c: 2 d: 3}\n", 1, 17),  # a missing comma stays where it is missing
    ("a: b\u00e4\x00c\n", 1, 6),  # NUL: columns count characters, not UTF-8 bytes
    ("a: 1\nb: x\x07\n", 2, 5),
]


@pytest.mark.parametrize("loader", ["libyaml", "python"])
@pytest.mark.parametrize(("text", "line", "column"), SYNTAX_POSITIONS)
def test_syntax_errors_point_at_the_byte_at_fault(
    monkeypatch: pytest.MonkeyPatch, loader: str, text: str, line: int, column: int
) -> None:
    import yaml

    from reconciler.routes import yaml_reader

    if loader == "python":  # PyYAML's own reader counts characters where libyaml counts bytes
        monkeypatch.setattr(yaml_reader, "_Loader", yaml.SafeLoader)
    _, codes, sink = _read(text)
    assert codes == ["yaml-syntax"]
    assert (sink.errors[0].line, sink.errors[0].column) == (line, column), sink.errors[0].message


def test_unsupported_tags() -> None:
    _, codes, _ = _read("a: !!python/object:os.system x\nb: !!set {x}\n")
    assert codes == ["yaml-tag-unsupported", "yaml-tag-unsupported"]


def test_field_paths_render_like_an_operator_writes_them() -> None:
    assert (
        format_path(("spec", "behaviors", 1, "originRequest")) == "spec.behaviors[1].originRequest"
    )
    assert format_path(("spec", "entries", "k" * 600)).endswith("...(600 bytes)")
