"""The batch's own dates: a date read unsurely is read again knowing the years of the dates the
same batch read surely.

A stack of cheques or forms is written within a year or so: a person checking one whose year is
unclear (2014 or 2019? 2016 or 1916?) looks at the others. After the first reading of a template
batch, the years of its sure dates become its date fields' ``years`` (templates.FieldSpec); the
pages holding an unsure date are read again with them, where fields.year_log_prior weighs a
date's year and fields.in_years puts the batch's commonest years among its candidates. Only the
unsure dates change: every other field keeps its first reading.
"""

from __future__ import annotations

import dataclasses

from . import fields

#: A date read at least this surely, with nothing to review, tells the batch's years.
SURE = 0.9
#: Fewer sure dates than this tell nothing about a batch's years: its dates are read once.
MIN_DATES = 8


def journal_of(journal: str) -> str:
    """Where the dates' second reading of a run journaled at ``journal`` is journaled."""
    return journal + ".dates"


def date_fields(template) -> dict[str, str]:
    """A template's date fields: name -> the pattern its dates are written in."""
    return {f.name: f.pattern or "DDMMYYYY" for f in template.fields if f.kind == "date"} if template else {}


def is_sure(row: dict) -> bool:
    return (not row.get("error") and bool(row.get("text")) and not row.get("review_reason")
            and float(row.get("confidence", 0)) >= SURE)


def sure_years(rows, patterns: dict[str, str]) -> tuple[int, ...]:
    """The years of the sure dates among ``rows`` (of the date fields in ``patterns``), sorted."""
    years = []
    for row in rows:
        pattern = patterns.get(row.get("field"))
        if pattern and is_sure(row) and not fields.date_problem(str(row["text"]), pattern):
            years.append(fields.date_year(str(row["text"]), pattern))
    return tuple(sorted(y for y in years if y is not None))


def with_years(template, years: tuple[int, ...]):
    """``template`` with its date fields knowing the batch's sure ``years``."""
    return dataclasses.replace(template, fields=tuple(
        dataclasses.replace(f, years=years) if f.kind == "date" else f for f in template.fields))


def _unsure_date(row: dict, patterns: dict[str, str]) -> bool:
    """Whether ``row`` is a date (of the fields in ``patterns``) read, but not surely."""
    return row.get("field") in patterns and not row.get("error") and not is_sure(row)


def _with_dates_of(first: list[dict], again: list[dict], others: list[dict], patterns: dict[str, str]) -> list[dict]:
    """One page's rows: the dates ``first`` read unsurely as ``again`` read them, every other row
    as in ``others``; ``others`` whole where ``again`` found other fields or failed."""
    if [r.get("field") for r in again] != [r.get("field") for r in others] or any(r.get("error") for r in again):
        return others
    return [b if _unsure_date(a, patterns) else c for a, b, c in zip(first, again, others)]


def merged(first: list[dict], second: list[dict], patterns: dict[str, str]) -> list[dict]:
    """One page's rows: its unsure dates as read again, every other row as first read (the first
    reading whole where the second found other fields or failed)."""
    return _with_dates_of(first, second, first, patterns)


def kept_dates(learned: dict, dated: dict, first: dict, template) -> dict:
    """Every unit's rows after ``extract --learn`` (``learned``), its unsure dates as the batch's
    years had them read again (``dated``; ``first``, the first reading): readers tuned on the batch
    learned its years too (its sure dates are among their lessons), and weighing those years again
    would count them twice. On the 28 CTS-2010 cheques the tuned readers read 22/09/2014, which
    the batch's years had mended, as 22092015."""
    patterns = date_fields(template)
    return {unit: rows if dated[unit] is first[unit] else _with_dates_of(first[unit], dated[unit], rows, patterns)
            for unit, rows in learned.items()}


def read_dates_again(units, read: dict, options, read_again) -> tuple[dict, object, dict]:
    """Every unit's rows after the pages holding an unsure date are read again (by ``read_again``,
    given those units and the options to read them with) knowing the batch's sure years; the
    options the batch is read with from now on; and what was done (``years``, ``read_again``,
    ``changed``, or ``skipped`` and why)."""
    patterns = date_fields(options.template)
    if not patterns:
        return read, options, {}
    years = sure_years((row for unit in units for row in read[unit]), patterns)
    again = [u for u in units if any(_unsure_date(r, patterns) for r in read[u])]
    report = {"years": sorted(set(years)), "sure": len(years), "read_again": 0, "changed": 0}
    if len(years) < MIN_DATES or not again:
        report["skipped"] = (f"only {len(years)} dates read surely (at least {MIN_DATES} are needed)"
                             if again else "every date was read surely")
        return read, options, report
    options = dataclasses.replace(options, template=with_years(options.template, years))
    second = read_again(again, options)
    out = dict(read)
    for unit in again:
        out[unit] = merged(read[unit], second[unit], patterns)
        report["read_again"] += sum(_unsure_date(r, patterns) for r in read[unit])
        report["changed"] += sum(a.get("text") != b.get("text") for a, b in zip(read[unit], out[unit]))
    return out, options, report
