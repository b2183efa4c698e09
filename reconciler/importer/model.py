"""What an import is asked to read, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Above this many items a table's items go to a JSONL bulk file: a review of a YAML file
# with hundreds of inline items helps nobody.
DEFAULT_INLINE_ITEMS_MAX = 10


class ImportError_(Exception):  # the builtin ImportError means something else
    """The import cannot go on (the message says what to change); nothing more is written."""


@dataclass(frozen=True)
class ImportRequest:
    out: Path  # repository root: route files go to out/routes, code to out/edge_functions
    stores: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    distribution_ids: tuple[str, ...] = ()
    distribution_comments: tuple[str, ...] = ()
    origin_attributes: tuple[str, ...] = ("defaultBackend",)
    inline_items_max: int = DEFAULT_INLINE_ITEMS_MAX

    @property
    def routes_dir(self) -> Path:
        return self.out / "routes"


@dataclass
class ImportResult:
    files: list[Path] = field(default_factory=list)  # everything written, in order
    # Things the operator should know: where the first plan will NOT be empty and why.
    notes: list[str] = field(default_factory=list)
    documents: dict[str, list[str]] = field(default_factory=dict)  # kind -> names
    # Validation errors of the files written (empty: `reconciler validate` passes).
    errors: list[str] = field(default_factory=list)
