"""Route-file errors and failed passes in each output format (`validate`, `plan`), so a
tool that asked for JSON or a pull request that asked for Markdown gets the errors in
that format on standard output, not an empty stdout and text on stderr."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from reconciler.core.render import md_code, md_text
from reconciler.routes import RouteError

TITLE = "### Edge routing plan"


def errors_json(errors: Sequence[RouteError], **extra: Any) -> str:
    payload = {"valid": False, **extra, "errors": [e.to_json() for e in errors]}
    return json.dumps(payload, indent=2) + "\n"


def errors_markdown(errors: Sequence[RouteError], title: str, headline: str) -> str:
    lines = [title, "", f"**{md_text(headline)}**", ""]
    lines += ["| file | line | column | field | message | code |", "|---|---|---|---|---|---|"]
    for e in errors:
        cells = [
            md_code(e.file),
            str(e.line),
            str(e.column),
            md_code(e.field) if e.field else "",
            md_text(e.message),
            md_code(e.code),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def failure_json(outcome: str, messages: Sequence[str], error_class: str | None) -> str:
    payload = {
        "outcome": outcome,
        "errorClass": error_class,
        "errors": [{"message": m} for m in messages],
    }
    return json.dumps(payload, indent=2) + "\n"


def failure_markdown(headline: str, messages: Sequence[str]) -> str:
    lines = [TITLE, "", f"**{md_text(headline)}**", ""]
    lines += [f"> {md_text(m)}" for m in messages]
    return "\n".join(lines) + "\n"
