"""One page through the stages: ``read_page(page, readers, options) -> rows``, which batch.py
calls in every process.

pages -> orient -> clean -> layout -> segment -> normalize -> readers -> assemble -> records.
A page's rows are the strings read from it (one row a string), or one row saying nothing was read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from . import assemble, clean, fields, layout, orient, segment, strings
from .normalize import normalize_gray_crop
from .pages import ASSUMED_DPI, DEFAULT_DPI, Page

LAYOUTS = ("page", "field", "digit")
#: Outside boxes, strings shorter than this (inches) are printed labels and prompts, not handwriting.
MIN_HANDWRITING = 0.12
#: In a field crop, the digits are taken to be about this share of the crop's height at first.
FIELD_DIGIT_SHARE = 0.6
#: A field taller than this (pixels) is read from a copy scaled down to it: a digit hundreds of pixels
#: high has nothing more to tell, and a whole page sent as one field is still read in a second.
FIELD_MAX_HEIGHT = 600


@dataclass(frozen=True)
class Options:
    """What to read and how: the CLI's options (DESIGN.md §3)."""

    layout: str = "page"
    review_below: float = assemble.REVIEW_BELOW
    dpi: int = DEFAULT_DPI
    annotate: str | None = None
    template: object = None  # a templates.Template: read its named fields instead


def read_field_image(image: np.ndarray, classify, name: str = "field") -> assemble.DigitString:
    """One string from an image that holds one field (a cropped amount, a box's inside): read whole
    by the sequence readers, and glyph by glyph too unless they agree surely."""
    gray, factor = _field_gray(image)
    box = (0, 0, gray.shape[1], gray.shape[0])  # the sequence readers read the whole field
    sequences = assemble.sequence_readings([gray], classify) if getattr(classify, "strings", None) else None
    if sequences:
        sure = assemble.sure_without_glyphs(name, sequences[0], box, classify)
        if sure is not None:
            return assemble.rescaled(sure, factor)
    page, guess = _cleaned_field(gray)
    glyph_read = _read_field_ink(page.ink, page.darkness, guess, classify, name)
    look = fields.faint_look(page.ink, page.darkness[:, :], page.rules, guess,  # a light pen's digits
                             in_doubt=assemble.in_doubt(glyph_read.digits))
    if look is not None:
        second = _read_field_ink(look[0], page.darkness, guess, classify, name)
        glyph_read = second if fields.with_faint_digits(glyph_read, second, *look) else glyph_read
    return assemble.rescaled(assemble.with_string_reader([(glyph_read, box)], gray, classify, box, sequences)[0], factor)


def _field_gray(image: np.ndarray) -> tuple[np.ndarray, float]:
    """A field image in grey, scaled down to FIELD_MAX_HEIGHT where taller (a digit hundreds of
    pixels high has nothing more to tell), and the factor back to the image as given."""
    gray = clean.grayscale(image)
    if gray.shape[0] <= FIELD_MAX_HEIGHT:
        return gray, 1.0
    scale = FIELD_MAX_HEIGHT / gray.shape[0]
    small = cv2.resize(gray, (max(1, round(gray.shape[1] * scale)), FIELD_MAX_HEIGHT), interpolation=cv2.INTER_AREA)
    return small, gray.shape[0] / FIELD_MAX_HEIGHT


def _cleaned_field(gray: np.ndarray) -> tuple[clean.CleanPage, float]:
    """A field's grey image cleaned, and the digit height first guessed for it."""
    guess = max(8.0, FIELD_DIGIT_SHARE * gray.shape[0])
    return clean.clean_page(gray, digit_height=guess, deskew=False), guess


def _read_field_ink(ink: np.ndarray, darkness: clean.Darkness, height: float, classify, name: str) -> assemble.DigitString:
    """The glyph reader's string on the main line of a field image's ink."""
    found, probs = _field_glyphs(ink, darkness, height, classify)
    return assemble.string_of(name, assemble.read_digits(found, probs), (0, 0, ink.shape[1], ink.shape[0]))


def _field_glyphs(ink: np.ndarray, darkness: clean.Darkness, height: float, classify):
    """The glyphs segmentation finds on the main line of a field image's ink, and their class
    probabilities."""
    main = segment.main_line(segment.group_lines(segment.components(ink, height, darkness=darkness)))
    return segment.segment_line(main, classify) if main else ([], np.zeros((0, 11), np.float32))


def field_digit_glyphs(image: np.ndarray, classify) -> list[segment.Glyph]:
    """The glyphs the glyph reader reads as digits in a field image, left to right, as
    read_field_image first reads them (before a faint pen's second look and the string reader):
    what ``extractor adapt`` teaches the digit model with, where their count is the label's."""
    page, guess = _cleaned_field(_field_gray(image)[0])
    found, probs = _field_glyphs(page.ink, page.darkness, guess, classify)
    return [g for g, p in zip(found, probs) if not assemble.rejected(p)]


#: Glyphs whose longer side is within these multiples of the expected digit height are looked at
#: to tell whether a page lies on its side.
TURN_GLYPH_SIZE = (0.3, 3.0)


def read_page_image(image: np.ndarray, dpi: float | None, classify) -> list[assemble.DigitString]:
    """Every handwritten digit string on a page: one per printed box (a comb is one box), then the
    free lines of writing outside the boxes, small printed text left out. A phone photo is first
    flattened onto its sheet, and a page scanned on its side or upside down is read upright; the
    boxes are on the page as given."""
    page = orient.flattened(image)
    dpi = orient.sheet_dpi(page, dpi) or ASSUMED_DPI
    looked_sideways = turned_over = False
    while True:
        work, scale = clean.working_copy(page.image, dpi)
        cleaned = clean.clean_page(work, dpi=dpi * scale)
        height = clean.estimate_digit_height(cleaned.gray, dpi * scale)
        glyphs = segment.components(cleaned.ink, height, darkness=cleaned.darkness)
        if not looked_sideways:
            looked_sideways = True
            low, high = (share * height for share in TURN_GLYPH_SIZE)
            sized = [g for g in glyphs if low <= max(g.w, g.h) <= high]
            if orient.lines_run_down([(g.x, g.y, g.w, g.h) for g in sized]):
                page = orient.turned(page, orient.sideways_turn([g.ink for g in sized], classify.rough))
                continue
        found, crops, readings = _read_page_strings(cleaned, height, glyphs, dpi * scale, classify)
        if not turned_over and orient.upside_down(crops, readings, getattr(classify, "strings", None)):
            turned_over, page = True, orient.turned(page, 2)  # read once more, turned over
            continue
        return [assemble.moved(assemble.rescaled(s, 1 / scale), page.to_given) for s in found]


def read_template_image(image: np.ndarray, dpi: float | None, template, classify) -> list[fields.FieldReading]:
    """Every field of a template on one page: a phone photo first flattened onto its form (in its
    colours), the form read at the resolution its known size gives (fields.form_dpi); the boxes
    are on the page as given."""
    page = orient.flattened(image, even=False, aspect=template.inches[0] / template.inches[1] if template.inches else None)
    dpi = fields.form_dpi(template, page.image.shape, orient.sheet_dpi(page, dpi) if not template.inches else dpi)
    readings = fields.read_template_page(page.image, dpi, template, classify)
    if not page.flattened:
        return readings
    return [replace(r, string=assemble.moved(r.string, page.to_given)) for r in readings]


def _read_page_strings(page: clean.CleanPage, height: float, glyphs: list[segment.Glyph], dpi: float,
                       classify) -> tuple[list[assemble.DigitString], list[np.ndarray], list]:
    """The strings of a cleaned page at its working resolution, the grey crops the string reader
    read them from, and its readings of them."""
    reads: list[tuple[assemble.DigitString, tuple[int, int, int, int] | None]] = []  # each with its crop
    loose = []
    boxes = layout.find_boxes(page.rules, height)
    owner = {}
    for g in glyphs:
        box = next((b for b in boxes if b.contains(g.x + g.w / 2, g.y + g.h / 2)), None)
        if box is None:
            loose.append(g)
        else:
            owner.setdefault(box.name, []).append(g)
    for box in boxes:
        read = _faint_look_at_box(box, _read_box(box, owner.get(box.name, []), classify), page, height, classify)
        if read is not None:
            string, line = read
            inside = (box.x, box.y, box.w, box.h)
            # a comb's cells are read one by one, by the glyph reader alone
            reads.append((string, strings.crop_box(line, segment.line_height(line), page.gray.shape, inside)
                           if line and box.kind != "comb" else None))
    for number, line in enumerate(segment.group_lines(loose), start=1):
        line_h = segment.line_height(line)
        if line_h < MIN_HANDWRITING * dpi:
            continue
        found, probs = segment.segment_line(line, classify, line_h)
        if len(found) > assemble.MAX_GLYPHS:
            continue
        # A line may hold a printed label and a number far apart: each string is judged on its own.
        parts = [run for run in assemble.split_at_gaps(assemble.read_digits(found, probs), line_h)
                 if assemble.looks_like_number(run, _glyphs_within(found, run))
                 and np.median([d.h for d in run]) >= MIN_HANDWRITING * dpi]
        for part, run in enumerate(parts, start=1):
            name = f"line_{number}" if len(parts) == 1 else f"line_{number}_{part}"
            x0, x1 = min(d.x for d in run), max(d.x + d.w for d in run)
            # the glyphs centred in the run; where it was cut from one wider glyph, that glyph
            span = ([g for g in line if x0 <= g.x + g.w / 2 <= x1]
                    or [g for g in line if g.x < x1 and g.right > x0])
            run, span = _faint_look_at_run(run, span, page, height, line_h, boxes, classify)
            reads.append((assemble.string_of(name, run), strings.crop_box(span, line_h, page.gray.shape)))
    crops = [page.gray[y: y + h, x: x + w] for _, (x, y, w, h) in (r for r in reads if r[1] is not None)]
    both = assemble.sequence_readings(crops, classify, with_ppocr=False) if getattr(classify, "strings", None) else []
    readings = [b["strings"] for b in both]
    read = assemble.with_string_reader(reads, page.gray, classify, readings=both)
    if page.skew:  # boxes on the page as scanned
        to_scan = clean.unrotated_box(page.skew, page.gray.shape)
        read = [assemble.moved(s, to_scan) for s in read]
    return read, crops, readings


def _read_box(box: layout.Field, glyphs: list[segment.Glyph], classify):
    """A printed box's string, with its line's glyphs when it holds one line, or None when what it
    holds is no number."""
    digits: list[assemble.Digit] = []
    glyph_count = 0
    lines = segment.group_lines(glyphs)
    for line in lines:
        found, probs = segment.segment_line(line, classify)
        digits += assemble.read_digits(found, probs)
        glyph_count += len(found)
    if not assemble.looks_like_number(digits, glyph_count):
        return None
    return assemble.string_of(box.name, digits), lines[0] if len(lines) == 1 else []


def _faint_look_at_box(box: layout.Field, read, page: clean.CleanPage, height: float, classify):
    """A box's reading, or its second look's, with its ink grown into the faint pixels it touches,
    where that finds a digit written lighter than the rest (fields.faint_look)."""
    window = fields.field_window((box.x, box.y, box.w, box.h), height, page.ink.shape)
    look = fields.faint_look(page.ink[window], page.darkness[window], page.rules[window], height,
                             in_doubt=bool(read) and assemble.in_doubt(read[0].digits))
    if look is None:
        return read
    glyphs = [g for g in segment.components(look[0], height, offset=(window[1].start, window[0].start),
                                            darkness=page.darkness[window])
              if box.contains(g.x + g.w / 2, g.y + g.h / 2)]
    again = _read_box(box, glyphs, classify)
    first = read[0] if read else assemble.string_of(box.name, [])
    return again if again is not None and fields.with_faint_digits(first, again[0], *look, window) else read


def _faint_look_at_run(run: list[assemble.Digit], glyphs: list[segment.Glyph], page: clean.CleanPage,
                      height: float, line_h: float, boxes: list[layout.Field], classify):
    """A number on a line of writing outside the boxes (its digits and glyphs), or its second look,
    with the ink grown into the faint pixels it touches, where that finds a digit written lighter
    than the rest (fields.faint_look). The look reaches a digit height beyond the number's ends."""
    top, bottom = min(g.y for g in glyphs), max(g.bottom for g in glyphs)
    x0, x1 = min(d.x for d in run) - int(line_h), max(d.x + d.w for d in run) + int(line_h)
    window = (slice(max(0, top - int(line_h) // 2), min(page.ink.shape[0], bottom + int(line_h) // 2)),
              slice(max(0, x0), min(page.ink.shape[1], x1)))
    look = fields.faint_look(page.ink[window], page.darkness[window], page.rules[window], line_h,
                             in_doubt=assemble.in_doubt(run))
    if look is None:
        return run, glyphs
    grown = [g for g in segment.components(look[0], height, offset=(window[1].start, window[0].start),
                                           darkness=page.darkness[window])
             if top <= g.y + g.h / 2 <= bottom and not any(b.contains(g.x + g.w / 2, g.y + g.h / 2) for b in boxes)]
    if not grown:
        return run, glyphs
    found, probs = segment.segment_line(grown, classify, line_h)
    again = [d for d in assemble.read_digits(found, probs) if x0 <= d.x + d.w / 2 <= x1]
    if again and fields.with_faint_digits(assemble.string_of("", run), assemble.string_of("", again), *look, window):
        return again, grown
    return run, glyphs


def _glyphs_within(glyphs: list[segment.Glyph], run: list[assemble.Digit]) -> int:
    """How many glyphs, digits or rejected, have their centre within the span of a run of digits."""
    x0, x1 = min(d.x for d in run), max(d.x + d.w for d in run)
    return sum(x0 <= g.x + g.w / 2 <= x1 for g in glyphs)


def read_digit_image(image: np.ndarray, classify) -> assemble.DigitString:
    """An image that is one digit: its whole area normalized and read; nothing when it holds no ink."""
    crop = normalize_gray_crop(image)
    h, w = image.shape[:2]
    if not crop.any():
        return assemble.string_of("digit", [], (0, 0, w, h))
    probs = classify(crop[None, :, :, None])[0]
    return assemble.string_of("digit", [assemble.digit_from(probs, 0, 0, w, h)])


def string_rows(page: Page, strings: list[assemble.DigitString], options: Options) -> list[dict]:
    """Long rows for the strings of one page; a page where nothing was read still gets one row."""
    if not strings:
        h, w = page.image.shape[:2]
        strings = [assemble.string_of(options.layout if options.layout != "page" else "", [], (0, 0, w, h))]
    return [{"source": page.source, "page": page.number, "field": s.field, "text": s.text,
             "confidence": round(s.confidence, 4),
             "needs_review": assemble.needs_review(s, options.review_below),
             "x": s.x, "y": s.y, "width": s.w, "height": s.h, "error": ""} for s in strings]


def template_rows(page: Page, readings, options: Options) -> list[dict]:
    """Long rows of a template page: one per field, with why it needs review."""
    rows = []
    for r in readings:
        s = r.string
        rows.append({"source": page.source, "page": page.number, "field": s.field, "text": s.text,
                     "confidence": round(s.confidence, 4),
                     "needs_review": bool(r.review_reason) or assemble.needs_review(s, options.review_below),
                     "review_reason": r.review_reason or ("" if not assemble.needs_review(s, options.review_below)
                                                          else f"confidence {s.confidence:.2f}"),
                     "x": s.x, "y": s.y, "width": s.w, "height": s.h, "error": ""})
    return rows


def read_page(page: Page, classify, options: Options) -> list[dict]:
    """All rows of one page, by the chosen layout or template; annotated if asked."""
    if options.template is not None:
        readings = read_template_image(page.image, page.dpi, options.template, classify)
        if options.annotate:
            annotate_page(page, [r.string for r in readings], Path(options.annotate), options.review_below)
        return template_rows(page, readings, options)
    if options.layout == "digit":
        strings = [read_digit_image(page.image, classify)]
    elif options.layout == "field":
        strings = [read_field_image(page.image, classify)]
    else:
        strings = read_page_image(page.image, page.dpi, classify)
    rows = string_rows(page, strings, options)
    if options.annotate:
        annotate_page(page, strings, Path(options.annotate), options.review_below)
    return rows


def annotate_page(page: Page, strings: list[assemble.DigitString], folder: Path, review_below: float) -> Path:
    """Draw each string's box, its digits and confidences on the page, for a person to check."""
    folder.mkdir(parents=True, exist_ok=True)
    image = page.image if page.image.ndim == 3 else cv2.cvtColor(page.image, cv2.COLOR_GRAY2RGB)
    canvas = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    scale = max(0.4, min(canvas.shape[:2]) / 1500)
    for s in strings:
        colour = (0, 0, 220) if assemble.needs_review(s, review_below) else (0, 160, 0)
        cv2.rectangle(canvas, (s.x, s.y), (s.x + s.w, s.y + s.h), colour, max(1, int(2 * scale)))
        for d in s.digits:
            cv2.rectangle(canvas, (d.x, d.y), (d.x + d.w, d.y + d.h), (200, 120, 0), 1)
            cv2.putText(canvas, f"{d.value}", (d.x, d.y + d.h + int(14 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5 * scale, (200, 120, 0), max(1, int(scale)))
        cv2.putText(canvas, f"{s.text or '-'} {s.confidence:.2f}", (s.x, max(12, s.y - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, colour, max(1, int(1.5 * scale)))
    path = annotation_path(folder, page.source, page.number)
    cv2.imwrite(str(path), canvas)
    return path


def annotation_path(folder: Path, source: str, number: int) -> Path:
    """Where ``--annotate`` draws page ``number`` of the input named ``source``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("._") or "page"
    return Path(folder) / f"{name}_p{number}.png"
