"""`reconciler import`: write route files from what already exists in an account.

Teams that built the walkthrough's setup by hand (console steps) adopt the reconciler by
importing it: the files written declare exactly what is live, so the first plan after an
import is empty and nothing changes until someone edits a file.

Public face:

    from reconciler.importer import ImportRequest, run_import
    result = run_import(ImportRequest(out=Path("adopted"), stores=("tier-origins",), ...), target)
    result.files, result.notes
"""

from __future__ import annotations

from reconciler.importer.model import ImportError_, ImportRequest, ImportResult
from reconciler.importer.run import run_import

__all__ = ["ImportError_", "ImportRequest", "ImportResult", "run_import"]
