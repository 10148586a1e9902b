"""The readers as one kind of object and the one decision over them: CTC readings' N best and exact
scores, PP-OCRv6 read as a digit reader, the decision's candidates, weights and confidence."""

import copy
import itertools

import cv2
import numpy as np
import pytest

from extractor import api, assemble, ctc, evaluate
from extractor.readers import ppocr

from conftest import require_real


def _brute_force(probs):
    """Every text a (steps, 11) CTC output can spell, with its probability, by walking every path."""
    spelled = {}
    for path in itertools.product(range(11), repeat=len(probs)):
        text = "".join(str(k) for i, k in enumerate(path) if k != ctc.BLANK and (i == 0 or k != path[i - 1]))
        spelled[text] = spelled.get(text, 0.0) + float(np.prod(probs[np.arange(len(probs)), path]))
    return spelled


def test_n_best_are_the_likeliest_texts_with_their_exact_probabilities():
    rng = np.random.default_rng(3)
    probs = rng.random((5, 11)) ** 3  # peaked, as a reader's steps are
    probs /= probs.sum(axis=1, keepdims=True)
    spelled = _brute_force(probs)
    truth = sorted(spelled.items(), key=lambda kv: -kv[1])[:4]
    best = ctc.SequenceReading(probs).n_best(4)
    assert [t for t, _ in best] == [t for t, _ in truth]
    assert [np.exp(p) for _, p in best] == pytest.approx([p for _, p in truth], rel=1e-6)
    assert ctc.SequenceReading(probs).log_probability("555555") == ctc.IMPOSSIBLE  # six 5s need eleven steps


def test_repeated_digits_need_a_blank_between_them():
    probs = np.full((6, 11), 1e-4)
    for step, cls in enumerate([0, 0, ctc.BLANK, 0, ctc.BLANK, ctc.BLANK]):
        probs[step, cls] = 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    reading = ctc.SequenceReading(probs)
    assert reading.best_path() == "00" and reading.n_best(1)[0][0] == "00"
    assert reading.log_probability("00") > reading.log_probability("000") + 5


def test_an_amount_is_read_with_its_grouping_marks():
    assert ctc.amount_forms("4420000") == ["4420000", "4,420,000", "44,20,000"]
    assert ctc.amount_forms("51000") == ["51000", "51,000"] and ctc.amount_forms("510") == ["510"]
    # steps writing "44,20,000", its chained last zero faint
    written = [4, ctc.BLANK, 4, ctc.GROUP, 2, 0, ctc.GROUP, 0, ctc.BLANK, 0, ctc.BLANK, 0, ctc.BLANK]
    grouped = np.full((len(written), 12), 1e-3)
    for step, cls in enumerate(written):
        grouped[step, cls] = 1.0
    grouped[11, ctc.BLANK] = 2.0
    grouped /= grouped.sum(axis=1, keepdims=True)
    folded = ctc.marks_as_blank(grouped)   # as a digit reader reads it: a comma is no digit
    plain = ctc.SequenceReading(folded, grouped=grouped)
    amount = plain.as_amount()
    # read as digits, a zero is lost; read as an amount, "44,20,00" is no grouping: 44,20,000 is
    assert plain.n_best(1)[0][0] == "442000"
    assert amount.n_best(1)[0][0] == "4420000"
    assert amount.log_probability("4420000") > amount.log_probability("442000") + 5
    assert amount.log_probability("4420000") == pytest.approx(plain.log_probability("4420000"), abs=0.01)
    assert ctc.SequenceReading(folded).as_amount().amount is False  # a reader that tells no marks apart


def _candidate(text, strings, pp, glyphs):
    return assemble.Candidate(text, strings, pp, glyphs)


def test_the_decision_weighs_every_reader_and_leaves_room_for_none_of_these():
    decision = assemble.Decision()
    # the sequence readers agree and the glyph reader cannot say: their text, surely
    chosen, p = decision([_candidate("4420", -0.05, -0.02, None), _candidate("442", -4.0, -5.0, None)])
    assert chosen.text == "4420" and p > 0.9
    # PP-OCRv6 weighs more than our string reader where the two disagree (fitted on real amounts)
    chosen, _ = decision([_candidate("1000", -0.3, -3.0, None), _candidate("17000", -3.0, -0.3, None)])
    assert chosen.text == "17000"
    # every reader unsure: the best is taken, at a low confidence
    chosen, p = decision([_candidate("35", -6.0, -7.0, -5.0), _candidate("85", -6.5, -7.5, -6.0)])
    assert chosen.text == "35" and p < 0.5


def test_candidates_come_from_every_reader_and_are_scored_under_each():
    probs = np.full((8, 11), 1e-3)
    for step, cls in enumerate([1, ctc.BLANK, 0, ctc.BLANK, 0, ctc.BLANK, ctc.BLANK, ctc.BLANK]):
        probs[step, cls] = 1.0
    reading = ctc.SequenceReading(probs / probs.sum(axis=1, keepdims=True))
    glyph = assemble.string_of("f", [assemble.Digit(7, 0.9, 0, 0, 5, 10, ((7, 0.9), (1, 0.08))),
                                     assemble.Digit(0, 0.99, 6, 0, 5, 10, ((0, 0.99),)),
                                     assemble.Digit(0, 0.99, 12, 0, 5, 10, ((0, 0.99),))])
    found = {c.text: c for c in assemble.candidates(glyph, {"strings": reading, "ppocr": None})}
    assert "700" in found and "100" in found
    assert found["100"].glyphs == pytest.approx(np.log(0.08) + 2 * np.log(0.99))  # its second reading
    assert all(c.glyphs is None for c in found.values() if len(c.text) != 3)  # the glyph reader cannot say
    assert any(len(t) != 3 for t in found) and found["100"].ppocr is None
    assert found["100"].strings > found["700"].strings


def _printed(text):
    image = np.full((60, 320), 255, np.uint8)
    cv2.putText(image, text, (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 0, 3, cv2.LINE_AA)
    return image


@pytest.fixture(scope="module")
def pp_reader():
    path = ppocr.model_path()
    assert path is not None, "the rapidocr wheel is an install dependency: PP-OCRv6's graph must be there"
    return ppocr.PPOCRReader(path)


def test_pp_ocr_reads_separators_and_a_closing_dash_as_structure_not_digits(pp_reader):
    reads = pp_reader.read([_printed("1,00,000/-"), _printed("2500"), _printed("73.40")])
    assert [r.best_path() for r in reads] == ["100000", "2500", "7340"]
    assert all(r.probs.shape[1] == 11 and np.allclose(r.probs.sum(axis=1), 1.0, atol=1e-4) for r in reads)


def test_pp_ocr_reads_most_real_cheque_amounts(pp_reader):
    from extractor.pipeline import _field_gray

    folder = require_real("cheque_amounts", "labels.csv")
    table = evaluate.read_labels(folder, "digits")
    crops = [_field_gray(cv2.imread(str(folder / name)))[0] for name in table["file"]]
    exact = np.mean([r.best_path() == t for r, t in zip(pp_reader.read(crops), table["digits"])])
    assert exact >= 0.8, exact  # 89.8% on 2026-12-07 (its look-alikes counted as digits)


def test_the_decision_over_three_readers_reads_more_real_amounts_than_any_reader_alone(classifier):
    folder = require_real("cheque_amounts", "labels.csv")
    three = evaluate.evaluate_string_folder(folder, classify=classifier)["exact"]
    without_pp = evaluate.evaluate_string_folder(folder, classify=api.Classifier(with_ppocr=False))["exact"]
    assert three >= 0.88 and three >= without_pp + 0.05, (three, without_pp)  # 93.8% and 82.0% on 2026-12-07


def test_a_field_looked_at_again_is_scored_by_the_mean_over_its_looks():
    def one_digit(seven, one):
        probs = np.full((3, 11), 1e-4)
        probs[[0, 2], ctc.BLANK] = 1.0
        probs[1, [7, 1]] = seven, one
        return ctc.SequenceReading(probs / probs.sum(axis=1, keepdims=True))

    first, second = one_digit(0.7, 0.3), one_digit(0.1, 0.9)  # a 7 in the crop as cut, a 1 in the other looks
    looks = ctc.Looks((first, second, second))
    assert [t for t, _ in first.n_best(2)] == ["7", "1"]
    assert [t for t, _ in looks.n_best(2)] == ["1", "7"]  # the first look's candidates, ranked by all three
    mean = np.mean([r.log_probability("7") for r in (first, second, second)])
    assert looks.log_probability("7") == pytest.approx(mean)
    assert ctc.Looks((first,), floor=-5.0).log_probability("7777") == -5.0  # a look that cannot spell it says no less


def test_other_looks_keep_the_field_and_change_its_margins_and_spacing():
    crop = _printed("2500")[:, :200]
    taller, narrower, wider = assemble.other_looks(crop)
    assert taller.shape[0] > crop.shape[0] and taller.shape[1] == crop.shape[1] and taller[0].min() == 255
    assert narrower.shape[1] < crop.shape[1] < wider.shape[1] and narrower.shape[0] == wider.shape[0] == crop.shape[0]
    assert assemble.other_looks(crop[:0]) == []


def test_doubtful_real_amounts_looked_at_again_read_more_of_them(classifier):
    from extractor.pipeline import read_field_image

    folder = require_real("cheque_amounts_large", "labels.csv")
    table = evaluate.read_labels(folder, "digits").iloc[:270]
    images = [cv2.imread(str(folder / name)) for name in table["file"]]
    once = copy.copy(classifier)  # the same readers, deciding once
    once.decision = assemble.Decision({**classifier.decision.weights, "look_again_below": 0.0})
    looked, first = ([read_field_image(im, c).text == t for im, t in zip(images, table["digits"])] for c in (classifier, once))
    assert sum(looked) >= sum(first) + 3, (sum(looked), sum(first))


def test_a_blank_field_reads_empty_and_is_flagged(classifier):
    from extractor.pipeline import read_field_image

    read = read_field_image(np.full((40, 200), 255, np.uint8), classifier)  # read "1" at 0.15 before 2026-12-07
    assert read.text == "" and assemble.needs_review(read)
