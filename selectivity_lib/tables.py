"""The analyses' tables (CCA distances, robustness, dimensionality): checksummed rows, reused by key.

An analysis writes one CSV per network family, each row naming the trained run(s) it came from by fingerprint
(`runfolder.run_key`) and the sampling it used, plus a checksum of its own values (`check`). Running the
analysis again keeps the rows whose key it still wants and whose checksum matches, and computes only the rest;
a row edited by hand is computed again, never reused or shown (`load_checked` refuses a table holding one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from .errors import RunFolderError

CHECK = "check"  # a row's checksum of its values

Columns = Sequence[tuple[str, type]]  # (column, float | int | str), in checksum order


def row_checks(table: pd.DataFrame, columns: Columns) -> pd.Series:
    """A checksum of each row's `columns`, from values normalised as they read back (floats by repr, so a value
    that changes in its last digit changes the checksum)."""

    def normal(kind, value):
        return repr(float(value)) if kind is float else str(kind(value))

    def check(values) -> str:
        text = "|".join(normal(kind, v) for (_, kind), v in zip(columns, values, strict=True))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    rows = table[[name for name, _ in columns]].itertuples(index=False, name=None)
    return pd.Series([check(values) for values in rows], index=table.index, dtype=str)


def edited_rows(table: pd.DataFrame, columns: Columns) -> pd.Series:
    """True for each row whose checksum does not match its values (all False for a table written before rows
    carried checksums)."""
    if CHECK not in table:
        return pd.Series(False, index=table.index)
    return table[CHECK].astype(str) != row_checks(table, columns)


def read_table(path: Path, types: dict) -> pd.DataFrame:
    """A table as written (pandas reads floats back exactly as repr wrote them); `types` for its string columns."""
    return pd.read_csv(path, dtype={**types, CHECK: str})


def cached_rows(
    path: Path,
    columns: Columns,
    key: Sequence[str],
    types: dict,
    progress,
    complete: Callable[[pd.DataFrame], bool] = lambda rows: True,
) -> tuple[dict[tuple, pd.DataFrame], int, bool]:
    """The rows of an earlier table at `path`, grouped by their `key` columns' values (only groups that
    `complete` accepts), the number of rows the file holds (1 for a file that cannot be read), and whether it
    carried checksums. Rows that fail their checksum are dropped with a note, so their keys are computed again."""
    if not path.is_file():
        return {}, 0, True
    try:
        table = read_table(path, types)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as e:
        progress(f"note: {path} is unreadable ({e}); every row is computed again")
        return {}, 1, True
    if not {name for name, _ in columns} <= set(table.columns):
        progress(f"note: {path} was written without run fingerprints or checked columns; every row is computed again")
        return {}, len(table), True
    try:
        edited = edited_rows(table, columns)
    except (TypeError, ValueError) as e:
        progress(f"note: {path} holds values of the wrong kind ({e}); every row is computed again")
        return {}, len(table), True
    if edited.any():
        progress(
            f"note: {edited.sum()} row(s) of {path} do not match their checksums (edited since they were "
            "written); the runs or pairs they belong to are computed again"
        )
        keys = list(table[list(key)].itertuples(index=False, name=None))
        bad = {k for k, wrong in zip(keys, edited, strict=True) if wrong}
        table = table[[k not in bad for k in keys]]
    checked = CHECK in table.columns  # a table written before rows carried checksums gets them on rewrite
    table = table.drop(columns=[CHECK], errors="ignore")
    groups = table.groupby(list(key), sort=False, dropna=False)
    return {k: rows for k, rows in groups if complete(rows)}, len(table), checked


def load_checked(root: str | Path, name: str, columns: Columns, types: dict, command: str) -> pd.DataFrame:
    """Every table called `name` under `root`, concatenated (empty if none), without checksums. A table with a
    row whose checksum does not match its values is refused (RunFolderError): no figure shows an edited value."""
    tables = []
    for path in sorted(Path(root).rglob(name)):
        table = read_table(path, types)
        edited = edited_rows(table, columns)
        if edited.any():
            raise RunFolderError(
                f"{edited.sum()} row(s) of {path} do not match their checksums (edited since they were written): "
                f"run python -m selectivity_lib {command} on {path.parent} again to recompute them"
            )
        tables.append(table.drop(columns=[CHECK], errors="ignore"))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
