"""Route documents back to YAML, in the shape operators write (camelCase, defaults omitted)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import yaml

from reconciler.routes.documents import RouteDocument


class _Dumper(yaml.SafeDumper):
    pass


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    # Written as a YAML float so that reading it back gives the same Decimal.
    return dumper.represent_scalar("tag:yaml.org,2002:float", str(value))


_Dumper.add_representer(Decimal, _decimal)


def document_data(document: RouteDocument) -> dict[str, Any]:
    data: dict[str, Any] = document.model_dump(mode="python", by_alias=True, exclude_defaults=True)
    # apiVersion and kind have defaults but identify the document: always written.
    return {"apiVersion": document.api_version, "kind": document.kind, **data}


def dump_documents(documents: Iterable[RouteDocument]) -> str:
    return yaml.dump_all(
        (document_data(d) for d in documents), Dumper=_Dumper, sort_keys=False, allow_unicode=True
    )
