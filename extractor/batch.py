"""Running a batch: the page is the unit of work, spread over a process pool (the model loaded once
per worker, each worker's TensorFlow held to one thread); results are merged in the parent in input
order, so the output is the same whatever the number of workers. Only the parent reports progress."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from dataclasses import dataclass
from typing import Iterator

from .errors import ExtractorError, InputError, MissingDependency
from .pages import Input, count_pages, load_page
from .pipeline import read_page
from .readers import Classifier
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


#: The error row of a page the extractor itself failed on (a bug, not the file's fault).
INTERNAL_ERROR = ("could not read this page: extractor failed on it (an internal error, not a fault of the "
                  "file; please report it with the file)")


def read_unit(unit: Unit, classify, options) -> list[dict]:
    """The rows of one page; a failure of any kind is one error row for that page."""
    try:
        page = load_page(unit.item.path, unit.item.source, unit.page, dpi=options.dpi)
        return read_page(page, classify, options)
    except ExtractorError as exc:
        return [error_row(unit.item.source, str(exc), unit.page)]
    except MemoryError:
        return [error_row(unit.item.source, "page too large to read in memory", unit.page)]
    except Exception:  # a bug or an odd file must not take the batch down
        return [error_row(unit.item.source, INTERNAL_ERROR, unit.page)]


# One classifier per worker process, made by the pool initializer.
_worker: dict = {}


def _start_worker(model_path):
    """A worker reads one page at a time on one core: its OpenCV and TensorFlow use one thread."""
    import cv2

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cv2.setNumThreads(1)

    _worker["classify"] = Classifier.load(model_path, threads=1)


def _work(unit: Unit, options) -> list[dict]:
    return read_unit(unit, _worker["classify"], options)


def _work_on_cluster(unit: Unit, options, model_path) -> list[dict]:
    """The per-page function on a Dask worker: the classifier is made once per worker process."""
    if "classify" not in _worker:
        _start_worker(model_path)
    return _work(unit, options)


def run_on_cluster(units: list[Unit], options, scheduler: str, model_path=None) -> Iterator[tuple[Unit, list[dict]]]:
    """Read every unit on a Dask cluster (``scheduler``: its address, or a Client), in order."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise MissingDependency("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from None
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = client.map(_work_on_cluster, units, options=options, model_path=model_path, pure=False)
        for unit, future in zip(units, futures):
            try:
                rows = future.result()
            except Exception:  # a lost worker or a failed task: this page gets an error row
                rows = [error_row(unit.item.source, "the cluster could not read this page (a worker was lost or "
                                                    "failed): run it again", unit.page)]
            yield unit, rows
    finally:
        if client is not scheduler:
            client.close()


def run(units: list[Unit], options, workers: int, model_path=None, classify=None,
        scheduler=None) -> Iterator[tuple[Unit, list[dict]]]:
    """Read every unit, yielding (unit, rows) in the order of ``units``: in this process, in a
    pool of ``workers`` processes, or on the Dask cluster at ``scheduler``."""
    if scheduler is not None:
        yield from run_on_cluster(units, options, scheduler, model_path)
        return
    if workers <= 1 or len(units) <= 1:
        if classify is None:
            _start_worker(model_path)
            classify = _worker["classify"]
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


class Journal:
    """Rows of finished pages, appended one JSON line per page and flushed as they finish, so a
    run killed at any moment can resume where it stopped. A half-written last line is ignored."""

    def __init__(self, path, resume: bool):
        import json

        self.path = path
        self.done: dict[tuple[str, str, int], list[dict]] = {}
        if resume and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        break  # the line being written when the run was killed
                    self.done[(entry["path"], entry["source"], entry["page"])] = entry["rows"]
        self._file = open(path, "a" if resume else "w", encoding="utf-8")

    @staticmethod
    def key(unit: Unit) -> tuple[str, str, int]:
        return (os.fsdecode(unit.item.path), unit.item.source, unit.page)

    def record(self, unit: Unit, rows: list[dict]) -> None:
        import json

        self._file.write(json.dumps({"path": self.key(unit)[0], "source": unit.item.source,
                                     "page": unit.page, "rows": rows}, default=_plain) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def _plain(value):
    """numpy scalars in rows, as plain JSON numbers."""
    return value.item() if hasattr(value, "item") else str(value)
