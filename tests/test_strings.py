"""The line reader: a whole line of digits read at once (CTC), and how its reading is combined
with the glyph-by-glyph one."""

import json

import numpy as np
import pytest

from extractor import api, assemble, strings
from extractor.segment import Glyph

from conftest import tiny_training_run


def test_a_line_is_fitted_to_the_crop_height_and_its_columns_map_back():
    ink = np.zeros((60, 300), np.float32)
    ink[10:50, 40:100] = 1.0   # a block 40 high from column 40 to 100
    ink[10:50, 200:230] = 1.0
    out, scale, left = strings.normalize_line(ink)
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert out.shape == (strings.HEIGHT, strings.WIDTH) and rows.size == strings.FIT_HEIGHT
    assert cols[0] == strings.MARGIN
    # Crop column c shows line column (c - left) / scale: the first block starts at line column 40.
    assert (cols[0] - left) / scale == pytest.approx(40, abs=1)
    assert (cols[-1] + 1 - left) / scale == pytest.approx(230, abs=2)
    wide = np.ones((20, 2000), np.float32)  # too long to fit at full height: narrowed, never cut
    out, scale, _ = strings.normalize_line(wide)
    top = (strings.HEIGHT - strings.FIT_HEIGHT) // 2
    assert out[top: top + strings.FIT_HEIGHT, strings.MARGIN: strings.WIDTH - strings.MARGIN].all()
    assert scale < strings.FIT_HEIGHT / 20
    assert not strings.normalize_line(np.zeros((5, 5)))[0].any()


def test_best_path_merges_repeats_and_drops_blanks():
    path = [strings.BLANK, 1, 1, strings.BLANK, 0, strings.BLANK, 0, 0] + [strings.BLANK] * (strings.STEPS - 8)
    probs = np.full((strings.STEPS, strings.CLASSES), 0.01, np.float32)
    probs[np.arange(strings.STEPS), path] = 0.9
    probs[2, 1] = 0.6
    reading = strings.decode(probs)
    assert reading.text == "100"  # the two zeros have a blank between them: two digits
    assert reading.confidences == pytest.approx((0.9, 0.9, 0.9))
    assert [s[0] for s in reading.spans] == [4 - strings.MARGIN, 16 - strings.MARGIN, 24 - strings.MARGIN]
    assert reading.confidence == pytest.approx(strings.text_probability(probs, "100"))
    assert reading.confidence >= 0.9 ** (strings.STEPS - 1) * 0.6  # at least its best path's


def test_a_texts_probability_sums_every_path_that_spells_it():
    import itertools

    rng = np.random.default_rng(0)
    probs = rng.random((5, strings.CLASSES))
    probs /= probs.sum(axis=1, keepdims=True)
    spelled = {}
    for path in itertools.product(range(strings.CLASSES), repeat=5):  # every path, by brute force
        text = "".join(str(k) for i, k in enumerate(path) if k != strings.BLANK and (i == 0 or k != path[i - 1]))
        spelled[text] = spelled.get(text, 0.0) + float(np.prod(probs[np.arange(5), path]))
    for text in ["", "1", "11", "12", "100", "3"]:
        assert strings.text_probability(probs, text) == pytest.approx(spelled[text], rel=1e-9)
    assert strings.text_probability(probs, "5555") == 0.0  # four 5s need seven steps


def test_training_lines_hold_their_digits(mnist_test):
    rng = np.random.default_rng(3)
    for _ in range(50):
        ink, target = strings.training_line(mnist_test.images, mnist_test.labels, rng)
        count = int((target >= 0).sum())
        assert 1 <= count <= strings.MAX_DIGITS and (target[count:] == -1).all()
        assert ink.max() > 0.5 and (count < 3 or ink.shape[1] > ink.shape[0])


def _string(text, confidence, x=0):
    digits = [assemble.Digit(int(c), confidence ** (1 / len(text)), x + 10 * i, 0, 10, 20) for i, c in enumerate(text)]
    return assemble.string_of("f", digits)


def test_agreeing_readers_keep_the_glyph_reading_as_sure_as_the_surer():
    combined = assemble.second_opinion(_string("1000", 0.6), _string("1000", 0.95, x=3))
    assert combined.text == "1000" and combined.confidence == pytest.approx(0.95)
    assert combined.digits[0].x == 0  # the glyph reading's boxes


def test_disagreeing_readers_take_the_surer_and_leave_it_for_review():
    combined = assemble.second_opinion(_string("17000", 0.3), _string("1000", 0.97))
    assert combined.text == "1000" and combined.confidence == pytest.approx(0.7)
    both_sure = assemble.second_opinion(_string("4420", 0.99), _string("4426", 0.98))
    assert both_sure.text == "4420" and assemble.needs_review(both_sure)
    nothing_else = assemble.second_opinion(_string("35", 0.9), assemble.string_of("f", []))
    assert nothing_else.text == "35" and nothing_else.confidence == pytest.approx(0.9)


def test_a_one_the_line_reader_reads_on_a_comma_segmentation_dropped_is_no_digit():
    """"42,40,000": the glyph reader kept 4 2 4 0 0 0 0 and dropped the commas, which start below
    the digits' top; the line reader's 1s on them are commas. A 1 standing as tall as the digits,
    which the glyph reader rejected, stays the line reader's to read; so does any other digit."""
    glyph_digits = [assemble.Digit(4, 0.9, x, 200, 15, 18) for x in (915, 937, 982, 1004, 1037, 1053, 1069)]
    comma = Glyph(965, 209, 9, 16, np.ones((16, 9), np.float32))
    upright = Glyph(1024, 199, 5, 19, np.ones((19, 5), np.float32))
    line = sorted([Glyph(d.x, d.y, d.w, d.h, np.ones((d.h, d.w), np.float32)) for d in glyph_digits] + [comma, upright],
                  key=lambda g: g.x)
    assert assemble.on_mark(assemble.Digit(1, 0.8, 966, 209, 6, 16), line, glyph_digits)
    assert not assemble.on_mark(assemble.Digit(7, 0.8, 966, 209, 6, 16), line, glyph_digits)
    assert not assemble.on_mark(assemble.Digit(1, 0.8, 1024, 199, 5, 19), line, glyph_digits)
    assert not assemble.on_mark(assemble.Digit(1, 0.8, 939, 200, 6, 18), line, glyph_digits)  # on a digit


def test_line_digits_are_boxed_by_their_ink():
    ink = np.zeros((40, 100), np.float32)
    ink[5:35, 10:30] = 1
    ink[12:38, 60:80] = 1
    reading = strings.LineReading("17", (0.9, 0.8), ((8, 32), (58, 82)), 0.7)
    d1, d7 = assemble.line_digits(reading, Glyph(100, 200, 100, 40, ink))
    assert (d1.value, d1.x, d1.y, d1.h) == (1, 108, 205, 30)
    assert (d7.value, d7.x, d7.y, d7.h, d7.confidence) == (7, 158, 212, 26, 0.8)


def test_shipped_line_reader_matches_its_card(classifier, mnist_test):
    from extractor.train import line_scores

    card = json.loads(strings.DEFAULT_STRING_MODEL.with_suffix(".json").read_text())
    scores = line_scores(classifier.lines, mnist_test.images, mnist_test.labels)
    for name, value in card["mnist_test"].items():
        assert abs(scores[name] - value) < 2e-3, name
    assert scores["lines_exact"] >= 0.8
    assert strings.DEFAULT_STRING_MODEL.stat().st_size <= 5_000_000


def test_line_reader_reads_lines_the_glyph_reader_cannot_cut(classifier, mnist_test):
    """Lines of MNIST test digits written into each other: the two readers together read more of
    them exactly than the glyph reader alone."""
    rng = np.random.default_rng(8)
    fields = []
    while len(fields) < 40:
        ink, target = strings.training_line(mnist_test.images, mnist_test.labels, rng)
        text = "".join(str(int(v)) for v in target if v >= 0)
        if len(text) >= 3:
            fields.append(((255 - np.clip(ink, 0, 1) * 235).astype(np.uint8), text))
    both = sum(api.read_field_image(image, classifier).text == text for image, text in fields)
    glyphs_only = api.Classifier(line_model_path=None)
    alone = sum(api.read_field_image(image, glyphs_only).text == text for image, text in fields)
    assert both >= alone + 4 and both >= 20


def test_tiny_string_reader_training_run_writes_a_model_and_card(tmp_path):
    card = tiny_training_run(tmp_path, "--strings", "strings.keras")
    assert card["classes"] == strings.CLASSES and card["training"]["fields_per_epoch"] == 200
    assert set(card["mnist_test"]) == {"fields_exact", "digits_right"}
    sources = card["training"]["sources"]
    assert sum(sources["shares"].values()) == pytest.approx(1.0) and "MNIST" in sources["mnist"]
