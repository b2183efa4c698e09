"""Every invalid input of the corpus fails with exactly the expected errors (file, line,
column, field, message, code), and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routes.corpus_cases import actual_errors, case_dirs, expected_errors

CASES = case_dirs()


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_input_reports_exact_errors(case: Path) -> None:
    expected = expected_errors(case)
    assert expected, f"{case.name}: an invalid-input case must expect at least one error"
    assert actual_errors(case) == expected
