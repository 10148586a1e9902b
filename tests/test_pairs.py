"""The pair model: two digits written into each other read as one glyph of 100 classes."""

import json

import cv2
import numpy as np
import pytest

from extractor import api, pairs, segment

from conftest import tiny_training_run


def test_a_pair_is_fitted_to_a_digits_height_and_centred():
    ink = np.zeros((50, 100), np.float32)
    ink[5:45, 10:90] = 1.0
    out = pairs.normalize_pair(ink)
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert out.shape == (pairs.HEIGHT, pairs.WIDTH)
    assert rows.size == pairs.FIT_HEIGHT and 38 <= cols.size <= 42
    assert abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1 and abs((cols[0] + cols[-1]) / 2 - 27.5) <= 1
    assert not pairs.normalize_pair(np.zeros((10, 10))).any()


def test_each_digit_of_a_pair_reading_is_its_marginal():
    probs = np.zeros(pairs.PAIR_CLASSES, np.float32)
    probs[16], probs[19], probs[pairs.NOT_A_PAIR] = 0.7, 0.2, 0.1
    left, right = pairs.digit_probabilities(probs)
    assert left.argmax() == 1 and left[1] == pytest.approx(0.9)
    assert right.argmax() == 6 and right[6] == pytest.approx(0.7) and right[9] == pytest.approx(0.2)
    assert left[10] == right[10] == pytest.approx(0.1)


def overlapping_fields(mnist_test, count, seed):
    """Fields of two MNIST test digits written into each other (as pairs.written_together), dark
    ink on white, with the text written."""
    rng = np.random.default_rng(seed)
    fields = []
    while len(fields) < count:
        picks = rng.integers(len(mnist_test.labels), size=2)
        ink = pairs.written_together([mnist_test.images[i] for i in picks], rng)
        text = "".join(str(mnist_test.labels[i]) for i in picks)
        binary = (ink > 0.3).astype(np.uint8)
        if cv2.connectedComponents(binary)[0] - 1 == 1:
            fields.append(((255 - ink * 235).astype(np.uint8), text))  # one glyph: no gap between
    return fields


def test_overlapping_digits_are_read_as_a_pair(classifier, mnist_test):
    fields = overlapping_fields(mnist_test, 60, seed=5)
    pairs_only = api.Classifier(string_model_path=None)
    with_pairs = sum(api.read_field_image(image, pairs_only).text == text for image, text in fields)
    digits_only = api.Classifier(pair_model_path=None, string_model_path=None)
    without = sum(api.read_field_image(image, digits_only).text == text for image, text in fields)
    # Ink that overlaps has no cut between the digits: the digit model alone misses more of these.
    assert with_pairs >= 50 and without <= with_pairs - 6


def test_one_digit_is_not_read_as_two(classifier, mnist_test):
    images = mnist_test.images[:2000]
    probs = classifier.pairs(pairs.normalize_pairs(list(images)))
    assert (probs[:, :100].max(axis=1) >= segment.PAIR_SURE).mean() <= 0.002


def test_shipped_pair_model_matches_its_card(classifier, mnist_test):
    from extractor.train import pair_scores

    card = json.loads(pairs.DEFAULT_PAIR_MODEL.with_suffix(".json").read_text())
    scores = pair_scores(classifier.pairs, mnist_test.images, mnist_test.labels)
    for name, value in card["mnist_test"].items():
        assert abs(scores[name] - value) < 1e-3, name
    assert scores["pairs_exact"] >= 0.9 and scores["single_digits_read_as_pairs"] <= 0.01
    assert pairs.DEFAULT_PAIR_MODEL.stat().st_size <= 5_000_000


def test_tiny_pair_training_run_writes_a_model_and_card(tmp_path):
    card = tiny_training_run(tmp_path, "--pairs", "pairs.keras")
    assert card["classes"] == pairs.PAIR_CLASSES and card["training"]["glyphs_per_epoch"] == 200
    assert set(card["mnist_test"]) == {"pairs_exact", "not_two_right", "single_digits_read_as_pairs"}
