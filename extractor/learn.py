"""Learning the writers of the batch being read, with no corrections (``extract --learn``).

A batch from one bank or one office is written by the same kind of hands. The fields the first
reading is sure of (the one decision's confidence at least LEARN_ABOVE: about 96% of them right on
real amounts) are lessons: their crops and strings tune PP-OCRv6's last layer and a copy of the
string reader as ``extractor adapt`` tunes them on corrections (the crops varied; synthetic fields
mixed into the string reader's epochs so that it does not forget other hands). The pages holding a
field below that are then read again with the tuned readers, every reader asked again; a field the
first reading was sure of keeps that reading. The folder kept for later batches (``--learn-save``)
holds the tuned string reader only: PP-OCRv6's layer tuned on one batch reads the next batch of the
same kind worse (docs/experiments.md).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import adapt, clean
from .errors import DataError
from .model import MODELS_DIR
from .readers import PPOCR_HEAD_FILE

#: Fields read at least this surely are learned from; pages with a field below it are read again.
LEARN_ABOVE = 0.8
#: Fewer sure fields than this teach nothing worth the time: the batch is read once.
MIN_LESSONS = 32
#: The most sure fields the readers are tuned on: a batch with more is learned from a sample of
#: them drawn with the seed. The tuning's time grows with its lessons (1188 sure fields of 1620: 167 s
#: for each of PP-OCRv6's three tunings); 400 are about what cheque_amounts_large gives (396).
LESSONS_AT_MOST = 400
#: The tuning: epochs, and varied copies of each lesson an epoch (with adapt.SYNTHETIC_PER_USER
#: synthetic fields per copy), sized so that a batch of 500 fields learns in a few minutes on 2 cores.
EPOCHS = 3
COPIES_PER_EPOCH = 4
#: The confidences of the second reading are tempered by this (second_confidence): fitted by
#: maximum likelihood on the 144 fields of cheque_amounts_large read again (one number; the
#: first reading's fields at 0.9 or more were 96.8% exact, the second's 88.5%, 91.7% after).
SECOND_TEMPERATURE = 1.37
#: A field read again keeps its first reading where the second is more than this less sure. A
#: chosen number: on cheque_amounts_large and cheque_amounts it changes nothing (0.05 would cost 1
#: field on each, 0 would cost 4 on cheque_amounts_large), on the 28 CTS-2010 cheques it keeps
#: an amount read right at 0.62 that the second reading cut a zero from at 0.47.
KEEP_FIRST_MARGIN = 0.1
#: PP-OCRv6's last layer's tuning on the lessons (4 copies: 16 would take 2 minutes more on 500
#: lessons).
PPOCR_HEAD = adapt.HeadTuning(copies=4, epochs=20, learning_rate=1e-3, l2=1e-3)
#: PP-OCRv6's last layer is tuned this many times on the lessons, each time on other varied copies
#: of them (seeds seed, seed + 1, ...), and the layers averaged: what one tuning gains hangs on the
#: copies it drew (cheque_amounts_large, the string reader tuned with seed 1: the layer of seed 1
#: alone 88.1%, of seed 2 89.6%, of seed 3 89.8%; averaged over seeds 1-3 89.3%, 4-6 89.4%).
PPOCR_HEAD_TUNINGS = 3
#: The string reader's first convolutions are kept as they are in the tuning: its backward pass
#: costs half as much (cheque_amounts_large: the same 485 of 540 fields read, 298 s all told
#: against 404 s; all five convolutions kept, 484): the batch's hands are learned in the layers
#: above them.
STRING_READER_FROZEN = ("conv1", "conv2", "conv3", "conv4")
#: Whether the string reader is tuned too (PP-OCRv6's last layer always is, where installed).
TUNE_STRING_READER = True


@dataclass
class Lessons:
    """The sure fields of a first reading: grey crops and the strings read from them."""

    crops: list
    texts: list


def is_sure(row: dict) -> bool:
    """Whether a row is a string read surely enough to learn from and to keep as it is."""
    return not row.get("error") and bool(row.get("text")) and float(row.get("confidence", 0)) >= LEARN_ABOVE


def lesson_crops(image: np.ndarray, rows: list[dict], layout: str, template) -> Lessons:
    """The lessons of one page: each sure row's crop (for ``--layout field``, the whole image, as it
    was read; elsewhere the row's box with the margin a correction's crop has) and its string."""
    found = Lessons([], [])
    if layout == "digit" and template is None:
        return found  # single digits teach the string reader nothing
    gray = clean.grayscale(image)
    for row in rows:
        if not is_sure(row):
            continue
        if layout == "field" and template is None:
            crop = gray
        else:
            crop = adapt.corrected_crop(gray, int(row["x"]), int(row["y"]), int(row["width"]), int(row["height"]))
        if crop.size and min(crop.shape[:2]) >= 4:
            found.crops.append(crop)
            found.texts.append(str(row["text"]))
    return found


def sampled(lessons: Lessons, at_most: int, seed: int) -> Lessons:
    """At most ``at_most`` of ``lessons``, drawn with ``seed`` and in the batch's order: what the
    readers are tuned on where a batch has more sure fields (LESSONS_AT_MOST)."""
    if len(lessons.crops) <= at_most:
        return lessons
    picks = np.sort(np.random.default_rng([seed, 43]).choice(len(lessons.crops), at_most, replace=False))
    return Lessons([lessons.crops[i] for i in picks], [lessons.texts[i] for i in picks])


def tuned_models(lessons: Lessons, base, out, seed: int = 1, data=None, log=print, saved=None,
                 sure: int | None = None) -> dict:
    """A complete models folder ``out``: the one at ``base`` (a models folder, or a digit model file
    read with the shipped others) with PP-OCRv6's last layer and its string reader tuned on
    ``lessons``, and a card (adapted.json, so that ``--models`` and ``extractor adapt`` take it)
    saying what it learned from; returns the card. With ``saved``, a second folder for later
    batches (``--learn-save``): the same string reader, and PP-OCRv6's layer as ``base`` has it.
    ``sure``: how many fields the batch read surely, where ``lessons`` are a sample of them.
    Tuned on one batch, the layer read the next batch of the same kind worse (kept from
    cheque_amounts_large, cheque_amounts 93.8% -> 92.2%; kept from cheque_amounts,
    cheque_amounts_large 84.8% -> 81.5%) and, beside the tuned string reader, forgot the generated
    MNIST pages (94.2% -> 92.5%); the tuned string reader alone read those three 95.3%, 84.3%
    and 94.2%."""
    from . import mnist
    from .model import quiet_tensorflow
    from .readers import ppocr
    from .train import run_facts

    started = time.time()
    base = Path(base) if base is not None else MODELS_DIR
    folder, digit_file = (base, None) if base.is_dir() else (MODELS_DIR, base)
    for name in adapt.MODEL_FILES:
        if not (folder / name).is_file():
            raise DataError(f"{folder / name}: model file not found")
    tf = quiet_tensorflow()
    tf.keras.utils.set_random_seed(seed)  # the same batch and seed learn the same models
    mnist_split = mnist.load_split(mnist.find_data_dir(data), "train") if TUNE_STRING_READER else None
    head = None  # (reader, weights, bias) of PP-OCRv6's layer tuned on the batch
    found = ppocr.model_path()
    if found is not None:  # PP-OCRv6's last layer: most of what learning gains (docs/experiments.md)
        reader = ppocr.PPOCRReader(found, threads=os.cpu_count(), head=_file_or_none(folder / PPOCR_HEAD_FILE))
        layers = []
        for k in range(PPOCR_HEAD_TUNINGS):
            features, texts = adapt.ppocr_examples(reader, lessons.crops, lessons.texts, seed + k, PPOCR_HEAD.copies)
            layers.append(adapt.fitted_ppocr_head(reader, features, texts, seed + k, log,
                                                  f"learning ({k + 1}/{PPOCR_HEAD_TUNINGS}): ", PPOCR_HEAD))
        head = (reader, np.mean([w for w, _ in layers], axis=0), np.mean([b for _, b in layers], axis=0))
    model = None
    if TUNE_STRING_READER:
        model = adapt.fine_tuned(folder / "strings.keras", lessons.crops, lessons.texts, EPOCHS, seed, mnist_split,
                                 log=log, label="learning: ", copies=COPIES_PER_EPOCH,
                                 frozen=STRING_READER_FROZEN)[0]
    strings_tuned = ["strings.keras"] if model is not None else []
    card = {"adapted": _tuned_text(([f"{PPOCR_HEAD_FILE} (PP-OCRv6's last layer)"] if head else []) + strings_tuned),
            "learned": {"fields": len(lessons.crops), "sure_fields": sure or len(lessons.crops),
                        "confidence_at_least": LEARN_ABOVE,
                        "ppocr_head": {**asdict(PPOCR_HEAD), "tunings_averaged": PPOCR_HEAD_TUNINGS} if head else None,
                        "string_reader": {"epochs": EPOCHS, "copies_per_epoch": COPIES_PER_EPOCH,
                                          "synthetic_per_copy": adapt.SYNTHETIC_PER_USER,
                                          "layers_kept": list(STRING_READER_FROZEN),
                                          "learning_rate": adapt.LEARNING_RATE} if model is not None else None,
                        "seed": seed, "seconds": round(time.time() - started, 1)},
            "base_models": {name: mnist.sha256_file(digit_file if digit_file and name == "digits.keras"
                                                    else folder / name) for name in adapt.MODEL_FILES},
            "training": {**run_facts(started, tf), "optimizer": f"Adam {adapt.LEARNING_RATE:g}"}}
    _write_folder(Path(out), folder, digit_file, model, head, card)
    if saved is not None:
        kept = {**card, "adapted": _tuned_text(strings_tuned), "learned": {**card["learned"], "ppocr_head": None}}
        _write_folder(Path(saved), folder, digit_file, model, None, kept)
    return card


def _tuned_text(names: list[str]) -> str:
    """A tuned folder's card's "adapted": which of its models were tuned, and on what."""
    return f"{' and '.join(names) or 'nothing'} tuned on the batch's own sure fields by extract --learn; the others copied"


def _write_folder(out: Path, folder: Path, digit_file, model, head, card: dict) -> None:
    """``out`` replaced whole by ``folder``'s models with the tuned ones (``model``, the string
    reader; ``head``, (reader, weights, bias) of PP-OCRv6's layer) and ``card``: never half-written."""
    from .train import save_model

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        adapt.copy_models(folder, partial, leave=("strings.keras",) if model is not None else ())
        if digit_file is not None:
            shutil.copy2(digit_file, partial / "digits.keras")
        if model is not None:
            save_model(model, partial / "strings.keras")
        if head is not None:
            adapt.save_ppocr_head(partial / PPOCR_HEAD_FILE, *head)
        (partial / "adapted.json").write_text(json.dumps(card, indent=2) + "\n")
        adapt.replace_folder(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def merged(first: list[dict], second: list[dict], review_below: float) -> list[dict]:
    """One page's rows after the second reading: where both readings found the same fields, each
    field's second reading (its confidence as ``second_confidence`` gives it) unless the first was
    sure (is_sure) or the second much less sure (_much_less_sure); else the first reading whole
    (a page whose strings were found otherwise the second time is not mixed)."""
    if [r.get("field") for r in first] != [r.get("field") for r in second] or any(r.get("error") for r in second):
        return first
    return [a if is_sure(a) or _much_less_sure(b, a) else _read_again(b, review_below) for a, b in zip(first, second)]


def _much_less_sure(again: dict, row: dict) -> bool:
    """Whether a field's second reading is more than KEEP_FIRST_MARGIN less sure than its first
    (the second's confidence as second_confidence gives it): the tuned readers learned something
    other than what this field shows, and the first reading stays."""
    second = second_confidence(again["confidence"]) if again.get("text") else 0.0
    return second < float(row.get("confidence", 0)) - KEEP_FIRST_MARGIN


def second_confidence(confidence: float) -> float:
    """A field's confidence from readers tuned on its own batch, as likely right as it says: those
    readers learned the batch's sure fields and are surer than they are right on the others, so
    its odds are taken to the power 1 / SECOND_TEMPERATURE."""
    p = min(max(float(confidence), 1e-6), 1 - 1e-6)
    return float(1 / (1 + ((1 - p) / p) ** (1 / SECOND_TEMPERATURE)))


def _read_again(row: dict, review_below: float) -> dict:
    """A row of the second reading, its confidence as second_confidence gives it and its review
    flag (and, in a template, its reason) following."""
    confidence = round(second_confidence(row["confidence"]), 4) if row.get("text") else row["confidence"]
    out = {**row, "confidence": confidence}
    unsure = not row.get("text") or confidence < review_below
    if "review_reason" in row:
        reason = row["review_reason"]
        if not reason or reason.startswith("confidence "):
            reason = f"confidence {confidence:.2f}" if unsure else ""
        out["review_reason"], out["needs_review"] = reason, bool(reason)
    else:
        out["needs_review"] = unsure
    return out


def _file_or_none(path: Path) -> Path | None:
    return path if path.is_file() else None


def learning_files(journal: str) -> tuple[str, str]:
    """The second reading's journal and the tuned models folder of a run journaled at ``journal``."""
    return journal + ".learn", journal + ".models"


@dataclass(frozen=True)
class Learner:
    """``api.extract``'s ``learn``: what to do between the first reading and the output. Tunes the
    readers on the sure fields (``seed``) and reads again the pages holding an unsure field; ``log``
    is told how the tuning goes. With ``save``, a models folder for later batches is written there
    (tuned_models' ``saved``)."""

    save: str | None = None
    seed: int = 1
    log: Callable | None = None

    def __call__(self, units, read: dict, journal, resume, model, on_plan, options, workers, classify, scheduler,
                 progress) -> tuple[dict, dict]:
        """Every unit's rows after learning from the sure ones, and what was learned. With
        ``journal``, the second reading is journaled beside it (learning_files), so that ``resume``
        continues it."""
        from .api import read_units
        from .pages import load_page

        started = time.time()
        log = self.log or (lambda line: None)
        lessons = Lessons([], [])
        again = [u for u in units if any(not r.get("error") and not is_sure(r) for r in read[u])]
        for unit in units:
            if any(is_sure(r) for r in read[unit]):
                page = load_page(unit.item.path, unit.item.source, unit.page, dpi=options.dpi)
                found = lesson_crops(page.image, read[unit], options.layout, options.template)
                lessons.crops += found.crops
                lessons.texts += found.texts
        report = {"fields": len(lessons.crops), "read_again": 0, "changed": 0}
        lessons = sampled(lessons, LESSONS_AT_MOST, self.seed)
        report["learned_from"] = len(lessons.crops)
        if len(lessons.crops) < MIN_LESSONS or not again:
            report["skipped"] = (f"only {len(lessons.crops)} fields read surely (at least {MIN_LESSONS} are needed "
                                 "to learn from)" if again else "every field was read surely")
            return read, report
        second_journal, models_at = learning_files(journal) if journal else (None, None)
        scratch = None if models_at else tempfile.mkdtemp(prefix="extractor-learn-")
        folder = Path(models_at or Path(scratch) / "models")
        try:
            tuned_already = resume and all(
                (f / "adapted.json").is_file() and "learned" in json.loads((f / "adapted.json").read_text())
                for f in [folder] + ([Path(self.save)] if self.save else []))
            if not tuned_already:
                log(f"learning from {len(lessons.crops)}"
                    + (f" of {report['fields']}" if report["fields"] > len(lessons.crops) else "")
                    + " fields read surely ...")
                tuned_models(lessons, model, folder, seed=self.seed, log=log, saved=self.save, sure=report["fields"])
            if on_plan:
                on_plan(len(units) + len(again))
            second = read_units(again, second_journal, resume, options, workers, str(folder), None, scheduler, progress)
        finally:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
        out = dict(read)
        for unit in again:
            out[unit] = merged(read[unit], second[unit], options.review_below)
            report["read_again"] += sum(not is_sure(r) and not r.get("error") for r in read[unit])
            report["changed"] += sum(a.get("text") != b.get("text") for a, b in zip(read[unit], out[unit]))
        report["seconds"] = round(time.time() - started, 1)
        return out, report
