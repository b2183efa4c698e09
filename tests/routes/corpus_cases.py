"""The invalid-input corpus: tests/routes/corpus/NN-name/ holds a small repository (routes/
plus whatever it references) and expected.txt, the exact error lines `validate` prints.

Run `python -m tests.routes.corpus_cases` to print what the loader says now for every case
(`--write` stores it as expected.txt; review the diff before committing it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from reconciler.routes import RouteSetInvalid, load_route_set

CORPUS = Path(__file__).parent / "corpus"


def case_dirs() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.is_dir())


def actual_errors(case: Path) -> list[str]:
    try:
        load_route_set(case / "routes", case)
    except RouteSetInvalid as invalid:
        return [error.render() for error in invalid.errors]
    return []


def expected_errors(case: Path) -> list[str]:
    return (case / "expected.txt").read_text(encoding="utf-8").splitlines()


def main(argv: list[str]) -> None:
    for case in case_dirs():
        lines = actual_errors(case)
        if "--write" in argv:
            (case / "expected.txt").write_text(
                "".join(line + "\n" for line in lines), encoding="utf-8"
            )
        print(f"== {case.name}")
        print("\n".join(lines) or "(valid)")


if __name__ == "__main__":
    main(sys.argv[1:])
