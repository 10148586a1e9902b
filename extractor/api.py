"""The one entry point for Python users: ``extract(inputs, **options) -> pandas.DataFrame``.

Every input comes back as rows: the strings read, or one row with the reason it could not be read.
The page-by-page work is pipeline.py's, the readers are readers.py's; both are named here too, as
the things a Python user reads one image with.
"""

from __future__ import annotations

import os

import pandas as pd

from . import batch, dates
from .errors import BadArgument
from .pages import find_inputs
from .pipeline import LAYOUTS, Options, annotation_path, read_digit_image, read_field_image, read_page_image
from .readers import Classifier
from .records import long_frame
from .templates import load_template

__all__ = ["Classifier", "Options", "annotation_path", "extract", "read_digit_image", "read_field_image",
           "read_page_image"]


def extract(inputs, layout: str = Options.layout, model: str | None = None,
            review_below: float = Options.review_below, dpi: int = Options.dpi, annotate: str | None = None, workers: int = 1, classify=None,
            progress=None, on_plan=None, journal: str | None = None, resume: bool = False,
            template=None, scheduler=None, learn=None) -> pd.DataFrame:
    """Read every input (files and folders) into the long table of DESIGN.md §3. Files in the
    folders that are neither images nor PDFs are not rows: the table's ``attrs["skipped"]`` names them.

    ``workers`` > 1 reads pages in that many processes, ``scheduler`` (a Dask scheduler address or
    Client) on a cluster; the table is the same either way.
    With ``template`` (a name, a YAML path or a Template), each page's named fields are read and
    the table gets a ``review_reason`` column; ``records.wide_frame`` turns it into one row a page.
    ``on_plan(pages)`` is told how many pages there are to read, and ``progress(unit, rows)`` is
    called in the parent after each page, if given. With ``journal`` (a file path), each page's rows
    are journaled as it finishes; ``resume`` then skips the pages the journal already holds, so an
    interrupted run continues and ends with exactly the rows of an uninterrupted one.

    A template's dates read unsurely are read again knowing the years of the batch's sure dates
    (dates.py); the table's ``attrs["dates"]`` says which years and what changed.

    With ``learn`` (a learn.Learner), the batch teaches the readers its writers: after the first
    reading, ``learn`` is given every page's rows and reads again what it chooses (learn.py); the
    table's ``attrs["learned"]`` says what was learned from and what changed.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if layout not in LAYOUTS:
        raise BadArgument(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if isinstance(template, (str, os.PathLike)):
        template = load_template(template)
    options = Options(layout=layout, review_below=review_below, dpi=dpi, annotate=annotate, template=template)
    found = find_inputs(list(inputs))
    items = found.items
    units, failed = batch.plan(items)
    if on_plan:
        on_plan(len(units))
    position = {item: index for index, item in enumerate(items)}
    run = {"options": options, "workers": workers, "classify": classify, "scheduler": scheduler, "progress": progress}
    read = read_units(units, journal, resume, model=model, **run)
    planned = len(units)

    def read_again(again, with_years):  # pages with an unsure date, knowing the batch's years
        nonlocal planned
        planned += len(again)
        if on_plan:
            on_plan(planned)
        return read_units(again, dates.journal_of(journal) if journal else None, resume, with_years, workers, model,
                          classify, scheduler, progress)

    first = read
    read, _, dated = dates.read_dates_again(units, read, options, read_again)
    learned = None
    if learn is not None:
        more = planned - len(units)
        with_dates = read
        read, learned = learn(units, read, journal, resume, model,
                              (lambda total: on_plan(total + more)) if on_plan else None, **run)
        read = dates.kept_dates(read, with_dates, first, template)
        if "skipped" not in learned:  # what learning changed, the dates it kept as the batch's years read them aside
            learned["changed"] = sum(a.get("text") != b.get("text") for u in units for a, b in zip(with_dates[u], read[u]))
    pages_of: dict[int, dict[int, list[dict]]] = {}
    for unit in units:
        pages_of.setdefault(position[unit.item], {})[unit.page] = read[unit]
    rows_of = dict(failed)
    for index, pages in pages_of.items():
        rows_of[index] = [row for page in sorted(pages) for row in pages[page]]
    frame = long_frame([row for index in range(len(items)) for row in rows_of.get(index, [])],
                       details=template is not None)
    frame.attrs["skipped"] = found.skipped  # files in the folders that are not images or PDFs
    if learned is not None:
        frame.attrs["learned"] = learned
    if dated:
        frame.attrs["dates"] = dated
    return frame


def read_units(units, journal, resume, options, workers, model, classify, scheduler, progress) -> dict:
    """Each unit's rows, read (or taken from the journal, with ``resume``), in the order of ``units``."""
    done = batch.Journal(journal, resume) if journal else None
    read = {}
    todo = []
    for unit in units:
        if done is not None and batch.Journal.key(unit) in done.done:
            read[unit] = done.done[batch.Journal.key(unit)]
            if progress:
                progress(unit, read[unit])
        else:
            todo.append(unit)
    try:
        for unit, rows in batch.run(todo, options, workers, model_path=model, classify=classify, scheduler=scheduler):
            read[unit] = rows
            if done is not None:
                done.record(unit, rows)
            if progress:
                progress(unit, rows)
    finally:
        if done is not None:
            done.close()
    return read
