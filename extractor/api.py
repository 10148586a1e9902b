"""The one entry point for Python users: ``extract(inputs, **options) -> pandas.DataFrame``.

Every input comes back as rows: the strings read, or one row with the reason it could not be read.
The page-by-page work is pipeline.py's, the readers are readers.py's; both are named here too, as
the things a Python user reads one image with.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from . import batch
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
            template=None, scheduler=None, learn: bool = False, learn_save: str | None = None, seed: int = 1,
            log=None) -> pd.DataFrame:
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

    With ``learn``, the batch teaches the readers its writers (learn.py): PP-OCRv6's last layer and
    a copy of the string reader are tuned on the fields read surely (``seed``; written to
    ``learn_save`` if given, as a models folder for ``--models``), and the pages holding an unsure
    field are read again with them; ``log`` is told how the tuning goes, and the table's ``attrs["learned"]`` says what was
    learned from and what changed. With ``journal``, the second reading is journaled too (beside
    it, ``.learn``; the tuned models in ``.models``), so that ``resume`` continues it.
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
    read = _read_units(units, journal, resume, model=model, **run)
    learned = None
    if learn:
        read, learned = _learned(units, read, journal, resume, model, learn_save, seed, log, on_plan, **run)
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
    return frame


def _read_units(units, journal, resume, options, workers, model, classify, scheduler, progress) -> dict:
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


def learning_files(journal: str) -> tuple[str, str]:
    """The second reading's journal and the tuned models folder of a run journaled at ``journal``."""
    return journal + ".learn", journal + ".models"


def _learned(units, read: dict, journal, resume, model, learn_save, seed, log, on_plan, options, workers,
             classify, scheduler, progress) -> tuple[dict, dict]:
    """Every unit's rows after learning from the sure ones (learn.py), and what was learned."""
    import shutil
    import tempfile
    import time

    from . import learn
    from .pages import load_page

    started = time.time()
    log = log or (lambda line: None)
    lessons = learn.Lessons([], [])
    again = [u for u in units if any(not r.get("error") and not learn.is_sure(r) for r in read[u])]
    for unit in units:
        if any(learn.is_sure(r) for r in read[unit]):
            page = load_page(unit.item.path, unit.item.source, unit.page, dpi=options.dpi)
            found = learn.lesson_crops(page.image, read[unit], options.layout, options.template)
            lessons.crops += found.crops
            lessons.texts += found.texts
    report = {"fields": len(lessons.crops), "read_again": 0, "changed": 0}
    if len(lessons.crops) < learn.MIN_LESSONS or not again:
        report["skipped"] = (f"only {len(lessons.crops)} fields read surely (at least {learn.MIN_LESSONS} are needed "
                             "to learn from)" if again else "every field was read surely")
        return read, report
    second_journal, models_at = learning_files(journal) if journal else (None, None)
    scratch = None
    folder = Path(learn_save or models_at or "")
    if not learn_save and not models_at:
        scratch = tempfile.mkdtemp(prefix="extractor-learn-")
        folder = Path(scratch) / "models"
    try:
        card_path = folder / "adapted.json"
        if not (resume and card_path.is_file() and "learned" in json.loads(card_path.read_text())):
            log(f"learning from {len(lessons.crops)} fields read surely ...")
            learn.tuned_models(lessons, model, folder, seed=seed, log=log)
        if on_plan:
            on_plan(len(units) + len(again))
        second = _read_units(again, second_journal, resume, options, workers, str(folder), None, scheduler, progress)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    out = dict(read)
    for unit in again:
        out[unit] = learn.merged(read[unit], second[unit], options.review_below)
        report["read_again"] += sum(not learn.is_sure(r) and not r.get("error") for r in read[unit])
        report["changed"] += sum(a.get("text") != b.get("text") for a, b in zip(read[unit], out[unit]))
    report["seconds"] = round(time.time() - started, 1)
    return out, report
