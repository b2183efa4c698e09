"""Environment variables in route files: `${NAME}` and `${NAME:=default}`, strict.

One set of route files serves staging and production; what differs (account ids, role
ARNs, distribution ids, domains) is a variable. Values come, in this order of precedence,
from the environment's vars file in the repository (`environments/<name>.yaml`, reviewed
and promoted like any route file), from the process environment (`RECONCILER_VAR_<NAME>`,
only for names the file leaves open), and from the default written in the reference.
A reference nothing defines is an error naming file, line, column and variable.

Substitution happens in parsed scalar values, never in the YAML text, so a value cannot
change the structure of a document (no `: ` or `#` injection) and every field keeps the
line and column it was written at. Mapping keys are names and are not substituted; bulk
item files are data and are not either. `$${` writes a literal `${`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from reconciler.routes.errors import ErrorSink
from reconciler.routes.source_files import FileProblem, read_source
from reconciler.routes.text_positions import utf8_problem
from reconciler.routes.yaml_reader import read_yaml_documents

ENV_PREFIX = "RECONCILER_VAR_"
ENVIRONMENTS_DIR = "environments"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
NAME = re.compile(rf"^{_NAME}$")
ENVIRONMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# `$${`: an escaped literal; `${NAME}` / `${NAME:=default}`; any other `${...` is an error.
_REFERENCE = re.compile(rf"\$\$\{{|\$\{{(?:({_NAME})(?::=([^}}]*))?\}}|[^}}]*\}}?)")
_MAX_VARS_FILE_BYTES = 1024 * 1024


@dataclass
class Variables:
    """The values of one environment and where each came from; records what was used."""

    environment: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # name -> "file:line" | env var
    used: dict[str, str] = field(default_factory=dict)  # name -> value, for the hash

    def substitute(self, text: str) -> tuple[str, list[tuple[int, str, str]]]:
        """`text` with references replaced, and (index of the `$` in `text`, message,
        code) for each reference that is malformed or undefined."""
        problems: list[tuple[int, str, str]] = []

        def replace(match: re.Match[str]) -> str:
            whole, name, default = match.group(0), match.group(1), match.group(2)
            if whole == "$${":
                return "${"
            if name is None:
                shown = whole if len(whole) <= 40 else whole[:37] + "..."
                message = (
                    f"malformed variable reference {shown!r}: write ${{NAME}} or "
                    "${NAME:=default} (NAME: letters, digits, _), or $${ for a literal ${"
                )
                problems.append((match.start(), message, "var-syntax"))
                return whole
            if name in self.values:
                self.used[name] = self.values[name]
                return self.values[name]
            if default is not None:
                return default
            where = f"environment {self.environment!r}" if self.environment else "no environment"
            problems.append(
                (
                    match.start(),
                    f"variable {name!r} is not defined ({where}: define it in "
                    f"{ENVIRONMENTS_DIR}/<env>.yaml or {ENV_PREFIX}{name}, or write "
                    f"${{{name}:=default}})",
                    "var-undefined",
                )
            )
            return whole

        return _REFERENCE.sub(replace, text), problems


def has_reference(text: str) -> bool:
    return "${" in text


def load_variables(
    root: Path,
    environment: str | None,
    environ: Mapping[str, str] | None,
    sink: ErrorSink,
    record: dict[str, bytes],
) -> Variables:
    """The variables of `environment` (its vars file, then `RECONCILER_VAR_*` from
    `environ`). Problems go to `sink`; the vars file's bytes to `record` for the hash."""
    variables = Variables(environment)
    if environment is not None:
        _read_vars_file(root, environment, variables, sink, record)
    for key, value in sorted((environ or {}).items()):
        name = key.removeprefix(ENV_PREFIX)
        if key.startswith(ENV_PREFIX) and NAME.match(name) and name not in variables.values:
            variables.values[name] = value
            variables.sources[name] = key
    return variables


def _read_vars_file(
    root: Path, environment: str, variables: Variables, sink: ErrorSink, record: dict[str, bytes]
) -> None:
    relative = f"{ENVIRONMENTS_DIR}/{environment}.yaml"
    if not ENVIRONMENT_NAME.match(environment):
        message = f"environment name {environment!r} must be 1-63 of a-z 0-9 _ - (a file name)"
        sink.add(relative, 1, 1, "", message, "vars-invalid")
        return
    path = root / ENVIRONMENTS_DIR / f"{environment}.yaml"
    if not path.exists() and not path.is_symlink():
        known = sorted(p.stem for p in (root / ENVIRONMENTS_DIR).glob("*.yaml"))
        hint = f"; known: {', '.join(known)}" if known else ""
        message = f"environment {environment!r} has no vars file{hint}"
        sink.add(relative, 1, 1, "", message, "vars-invalid")
        return
    try:
        data = read_source(path, root, _MAX_VARS_FILE_BYTES, "vars-invalid")
    except FileProblem as problem:
        sink.add(relative, 1, 1, "", f"vars file cannot be read: {problem}", problem.code)
        return
    record[relative] = data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        pos, message = utf8_problem(data, error)
        sink.add(relative, pos.line, pos.column, "", message, "yaml-syntax")
        return
    documents = read_yaml_documents(text, relative, sink)
    if not documents:
        return  # empty file: no variables (or a syntax error, reported)
    first = documents[0]
    if len(documents) > 1 or not isinstance(first.data, dict):
        pos = first.locations.start
        message = "a vars file is one mapping NAME: value"
        sink.add(relative, pos.line, pos.column, "", message, "vars-invalid")
        return
    for name, value in first.data.items():
        pos = first.locations.locate((name,))
        if not NAME.match(str(name)):
            message = "variable names are letters, digits and _, not starting with a digit"
        elif isinstance(value, bool):
            variables.values[name] = "true" if value else "false"
            message = ""
        elif isinstance(value, str | int | Decimal):
            variables.values[name] = str(value)
            message = ""
        else:
            message = "a variable's value is text or a number, not a list, mapping or null"
        if message:
            sink.add(relative, pos.line, pos.column, str(name), message, "vars-invalid")
        else:
            variables.sources[name] = f"{relative}:{pos.line}"
