"""The string reader: a field's grey crop read whole (CTC); its digits boxed on the page."""

import hashlib
import json

import numpy as np
import pytest

from extractor import api, assemble, clean, strings
from extractor.segment import Glyph

from extractor.pages import load_pages

from conftest import ROOT, require_real, tiny_training_run


def test_best_path_merges_repeats_and_drops_blanks():
    steps = strings.CROP_STEPS
    path = [strings.BLANK, 1, 1, strings.BLANK, 0, strings.BLANK, 0, 0] + [strings.BLANK] * (steps - 8)
    probs = np.full((steps, strings.CLASSES), 0.01, np.float32)
    probs[np.arange(steps), path] = 0.9
    probs[2, 1] = 0.6
    reading = strings.decode(probs)
    assert reading.text == "100"  # the two zeros have a blank between them: two digits
    assert reading.confidences == pytest.approx((0.9, 0.9, 0.9))
    assert [s[0] for s in reading.spans] == [4, 16, 24]
    assert [s[0] for s in strings.decode(probs, scale=2.0).spans] == [2, 8, 12]  # in the crop's own columns
    assert reading.confidence == pytest.approx(strings.text_probability(probs, "100"))
    assert reading.confidence >= 0.9 ** (steps - 1) * 0.6  # at least its best path's


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


def test_string_digits_are_boxed_by_their_columns_in_the_crop():
    reading = strings.StringReading("17", (0.9, 0.8), ((8, 32), (58, 82)), 0.7)
    d1, d7 = assemble.crop_digits(reading, (100, 200, 90, 40))
    assert (d1.value, d1.x, d1.y, d1.w, d1.h) == (1, 108, 200, 24, 40)
    assert (d7.value, d7.x, d7.w, d7.confidence) == (7, 158, 24, 0.8)
    assert assemble.crop_digits(strings.StringReading("5", (0.9,), ((80, 120),), 0.9), (0, 0, 90, 40))[0].w == 10


def test_a_lines_crop_has_margins_and_stays_on_the_page_and_in_its_box():
    glyphs = [Glyph(100, 50, 20, 40, np.ones((40, 20), np.float32)), Glyph(125, 55, 20, 35, np.ones((35, 20), np.float32))]
    assert strings.crop_box(glyphs, 40, (400, 600)) == (96, 42, 53, 56)
    assert strings.crop_box(glyphs, 400, (400, 600)) == (60, 0, 125, 170)
    assert strings.crop_box(glyphs, 40, (400, 600), within=(95, 45, 100, 100)) == (96, 45, 53, 53)


def test_shipped_string_reader_matches_its_card(classifier, mnist_test):
    from extractor.train import field_scores

    from extractor import synth

    card = json.loads(strings.DEFAULT_STRING_MODEL.with_suffix(".json").read_text())
    scores = field_scores(classifier.strings, mnist_test.images, mnist_test.labels)
    if len(synth.find_fonts()) == card["training"]["sources"]["font_files"]:  # the fields it was scored on
        for name, value in card["mnist_test"].items():
            assert abs(scores[name] - value) < 5e-3, name
    assert scores["fields_exact"] >= 0.82  # synthetic fields with whole printed boxes and signs among them
    assert strings.DEFAULT_STRING_MODEL.stat().st_size <= 5_000_000


def test_the_string_reader_reads_real_amounts_the_glyph_reader_cannot(classifier):
    """Real cheque amounts (cheque_amounts): the two readers together read more of them exactly than
    the glyph reader alone, and the string reader alone reads most of them."""
    from extractor import evaluate

    folder = require_real("cheque_amounts", "labels.csv")
    both = evaluate.evaluate_string_folder(folder, classify=classifier)["exact"]
    glyphs_only = evaluate.evaluate_string_folder(folder, classify=api.Classifier(string_model_path=None))["exact"]
    table = evaluate.read_labels(folder, "digits")
    crops = [clean.grayscale(load_pages(folder / name)[0].image) for name in table["file"]]
    alone = np.mean([r.text == t for r, t in zip(strings.read_crops(classifier.strings, crops), table["digits"])])
    assert both >= glyphs_only + 0.05 and alone >= 0.7, (both, glyphs_only, alone)


def test_tiny_string_reader_training_run_writes_a_model_and_card(tmp_path):
    card = tiny_training_run(tmp_path, "--strings", "strings.keras")
    assert card["classes"] == strings.CLASSES and card["training"]["fields_per_epoch"] == 200
    assert set(card["mnist_test"]) == {"fields_exact", "digits_right"}
    sources = card["training"]["sources"]
    assert sum(sources["shares"].values()) == pytest.approx(1.0) and "MNIST" in sources["mnist"]
    assert "started_from" not in card["training"]


def test_training_on_from_a_saved_reader_keeps_what_it_knew(tmp_path):
    shipped = ROOT / "models" / "strings.keras"
    card = tiny_training_run(tmp_path, "--strings", "strings.keras", "--from", str(shipped))
    started = card["training"]["started_from"]
    assert started["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest() and "command" in started["card"]
    assert "3e-04" in card["training"]["optimizer"] or "0.0003" in card["training"]["optimizer"]
    # 200 fields from nothing read next to none; from the shipped reader most digits stay right
    assert card["mnist_test"]["digits_right"] > 0.8
