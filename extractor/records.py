"""Records: rows to a pandas DataFrame, written to CSV and XLSX atomically, numbers kept as text."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

#: The long output, one row per string read or per failed input (DESIGN.md §3).
LONG_COLUMNS = ["source", "page", "field", "text", "confidence", "needs_review",
                "x", "y", "width", "height", "error"]
#: With a template, the long form (--details) also says why each field needs review.
DETAIL_COLUMNS = LONG_COLUMNS[:6] + ["review_reason"] + LONG_COLUMNS[6:]
TEXT_COLUMNS = ["source", "field", "text", "error", "review_reason"]


def long_frame(rows: list[dict], details: bool = False) -> pd.DataFrame:
    """The long table, columns in contract order, text kept as text (leading zeros survive);
    ``details`` adds the ``review_reason`` of template fields."""
    frame = pd.DataFrame(rows, columns=DETAIL_COLUMNS if details else LONG_COLUMNS)
    for column in TEXT_COLUMNS:
        if column in frame:
            frame[column] = frame[column].astype(object).fillna("").astype(str)
    frame["page"] = frame["page"].fillna(0).astype(int)
    for column in ("x", "y", "width", "height"):
        frame[column] = frame[column].fillna(0).astype(int)
    frame["confidence"] = frame["confidence"].fillna(0.0).astype(float).round(4)
    frame["needs_review"] = frame["needs_review"].fillna(True).astype(bool)
    return frame


def wide_frame(long: pd.DataFrame, field_names: list[str]) -> pd.DataFrame:
    """One row per page: ``source, page``, a text column per template field, ``confidence`` (the
    lowest field's), ``needs_review``, ``review_reason`` and ``error`` (DESIGN.md §3)."""
    rows = []
    for (source, page), group in long.groupby(["source", "page"], sort=False):
        row = {"source": source, "page": int(page)}
        by_field = {f: g for f, g in zip(group["field"], group.itertuples())}
        for name in field_names:
            row[name] = by_field[name].text if name in by_field else ""
        read = group[group["field"].isin(field_names)]
        errors = [e for e in group["error"] if e]
        row["confidence"] = round(float(read["confidence"].min()), 4) if len(read) else 0.0
        row["needs_review"] = bool(group["needs_review"].any()) or bool(errors)
        reasons = [f"{f}: {r}" for f, r in zip(read["field"], read.get("review_reason", [""] * len(read))) if r]
        row["review_reason"] = "; ".join(reasons)
        row["error"] = "; ".join(errors)
        rows.append(row)
    columns = ["source", "page", *field_names, "confidence", "needs_review", "review_reason", "error"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in ["source", *field_names, "review_reason", "error"]:
        frame[column] = frame[column].fillna("").astype(str)
    return frame


def error_row(source: str, error: str, page: int = 0) -> dict:
    """The row that accounts for an input (or page) that could not be read."""
    return {"source": source, "page": page, "field": "", "text": "", "confidence": 0.0,
            "needs_review": True, "x": 0, "y": 0, "width": 0, "height": 0,
            "error": " ".join(str(error).split())}


def _atomic(path: Path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file keeps the real suffix (writers choose the format by it) and a dot prefix.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.part.", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a table as UTF-8 CSV via a temporary file and a rename: a reader never sees half of it."""
    _atomic(Path(path), lambda tmp: frame.to_csv(tmp, index=False))


def write_xlsx(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a table as XLSX, text columns as text cells (so 007 stays 007), atomically."""
    _atomic(Path(path), lambda tmp: xlsx_to(frame, tmp))


def xlsx_to(frame: pd.DataFrame, target) -> None:
    """Write a table as XLSX to a path or a binary file object, text columns as text cells."""
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="digits")
        sheet = writer.sheets["digits"]
        for col, name in enumerate(frame.columns, start=1):
            if not pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name]):
                for row in range(2, len(frame) + 2):
                    sheet.cell(row=row, column=col).number_format = "@"


def read_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read back a table written by :func:`write_csv`, text columns as text."""
    return pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False)


def read_wide_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read back a wide table: every column but the numbers as text."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)
