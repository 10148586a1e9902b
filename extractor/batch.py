"""Running a batch: the page is the unit of work, spread over a process pool (the model loaded once
per worker, each worker's TensorFlow held to one thread); results are merged in the parent in input
order, so the output is the same whatever the number of workers. Only the parent reports progress."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from dataclasses import dataclass
from typing import Callable, Iterator

from .errors import ExtractorError, InputError
from .pages import Input, count_pages, load_page
from .records import error_row


@dataclass(frozen=True)
class Unit:
    """One page of one input to read."""

    item: Input
    page: int


def plan(items: list[Input]) -> tuple[list[Unit], dict[int, list[dict]]]:
    """The pages to read, and the error rows of inputs that cannot even be opened (by input index)."""
    units: list[Unit] = []
    failed: dict[int, list[dict]] = {}
    for index, item in enumerate(items):
        if item.error:
            failed[index] = [error_row(item.source, item.error)]
            continue
        try:
            pages = count_pages(item.path)
        except InputError as exc:
            failed[index] = [error_row(item.source, str(exc))]
            continue
        units += [Unit(item, page) for page in range(1, pages + 1)]
    return units, failed


def read_unit(unit: Unit, classify, options) -> list[dict]:
    """The rows of one page; a failure of any kind is one error row for that page."""
    from .api import read_page

    try:
        page = load_page(unit.item.path, unit.item.source, unit.page, dpi=options.dpi)
        return read_page(page, classify, options)
    except ExtractorError as exc:
        return [error_row(unit.item.source, str(exc), unit.page)]
    except MemoryError:
        return [error_row(unit.item.source, "page too large to read in memory", unit.page)]
    except Exception as exc:  # a bug or an odd file must not take the batch down
        return [error_row(unit.item.source, f"could not read page: {type(exc).__name__}: {exc}", unit.page)]


# One classifier per worker process, made by the pool initializer.
_worker: dict = {}


def _start_worker(model_path):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from .api import Classifier

    _worker["classify"] = Classifier(model_path, threads=1)


def _work(unit: Unit, options) -> list[dict]:
    return read_unit(unit, _worker["classify"], options)


def run(units: list[Unit], options, workers: int, model_path=None, classify=None) -> Iterator[tuple[Unit, list[dict]]]:
    """Read every unit, yielding (unit, rows) in the order of ``units``."""
    if workers <= 1 or len(units) <= 1:
        if classify is None:
            from .api import Classifier

            classify = Classifier(model_path)
        for unit in units:
            yield unit, read_unit(unit, classify, options)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                initializer=_start_worker, initargs=(model_path,)) as pool:
        futures = [pool.submit(_work, unit, options) for unit in units]
        for unit, future in zip(units, futures):
            try:
                rows = future.result()
            except concurrent.futures.process.BrokenProcessPool:
                rows = [error_row(unit.item.source, "worker process died reading this page (out of memory?)", unit.page)]
            yield unit, rows
