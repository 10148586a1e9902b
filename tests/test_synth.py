"""Synthetic training fields: grey images of handwritten numbers on paper, with their digits."""

import numpy as np
import pytest

from extractor import augment, strings, synth


def test_amounts_are_grouped_as_writers_group_them():
    assert "".join(synth._grouped("1500000", ",", indian=False)) == "1,500,000"
    assert "".join(synth._grouped("1500000", ",", indian=True)) == "15,00,000"
    assert "".join(synth._grouped("100000", ",", indian=True)) == "1,00,000"
    assert "".join(synth._grouped("999", ".", indian=False)) == "999"


def test_every_allograph_draws_its_digit_as_ink():
    rng = np.random.default_rng(2)
    for digit, styles in synth.ALLOGRAPHS.items():
        for name in styles:
            writer = synth.Writer("pen", tuple(name if d == digit else next(iter(synth.ALLOGRAPHS[d]))
                                               for d in range(10)))
            ink = synth.pen_digit(digit, name, rng, 40, writer)
            assert 36 <= ink.shape[0] <= 54 and ink.max() > 0.9, (digit, name)
            if digit == 1:  # a 1 is a stroke, whatever its flag
                assert ink.shape[1] < 0.8 * ink.shape[0], name
            else:  # a drawn line, not a blob
                assert 0.05 < (ink > 0.5).mean() < 0.6, (digit, name)


def test_fields_are_grey_crops_holding_their_digits(mnist_test):
    rng = np.random.default_rng(5)
    source = synth.mnist_by_label(mnist_test.images, mnist_test.labels)
    fonts = synth.find_fonts()
    for _ in range(60):
        image, digits = synth.training_field(rng, fonts, source)
        assert image.dtype == np.uint8 and image.ndim == 2 and 20 <= image.shape[0] <= 90
        assert digits.isdigit() and 1 <= len(digits) <= strings.MAX_DIGITS
        paper, ink = np.percentile(image, [90, 1])
        assert paper - ink >= 25  # the writing is darker than its paper
        crop, scale = strings.normalize_crop(image)
        assert crop.shape == (strings.CROP_HEIGHT, strings.CROP_WIDTH)
        assert crop.max() > 0.6  # the ink stays dark after scaling, whatever the pen's width


def test_a_crop_keeps_its_grey_and_its_columns_map_back():
    gray = np.full((50, 100), 200, np.uint8)
    gray[10:40, 20:30] = 40      # a dark stroke
    gray[10:40, 60:70] = 150     # a faint one, kept faint, not binarized
    crop, scale = strings.normalize_crop(gray)
    assert scale == pytest.approx(strings.CROP_HEIGHT / 50)
    cols = np.flatnonzero(crop.max(axis=0) > 0.5)
    assert cols[0] / scale == pytest.approx(20, abs=2) and (cols[-1] + 1) / scale == pytest.approx(30, abs=2)
    faint = crop[:, int(62 * scale): int(68 * scale)].max()
    assert 0.2 < faint < 0.45
    assert not crop[:, int(100 * scale) + 1:].any()  # left-aligned, the rest empty
    long_crop, long_scale = strings.normalize_crop(np.full((20, 2000), 100, np.uint8))
    assert long_scale * 2000 == pytest.approx(strings.CROP_WIDTH)  # narrowed, never cut


def test_printed_signs_are_real_glyphs_at_the_asked_height():
    rng = np.random.default_rng(7)
    for _ in range(20):
        ink = synth.printed_sign(40, rng)
        assert ink.shape[0] == 40 and ink.max() > 0.9 and 0.03 < (ink > 0.5).mean() < 0.8
    for path in synth.printed_faces():  # every face kept draws the rupee sign, not its "no glyph" box
        from PIL import ImageFont

        font = ImageFont.truetype(path, 40)
        assert not np.array_equal(np.asarray(font.getmask("\u20b9")), np.asarray(font.getmask("\ue000"))), path


def test_fields_with_a_printed_sign_keep_only_their_digits(mnist_test, monkeypatch):
    monkeypatch.setattr(synth, "PRINTED_SIGN_SHARE", 1.0)
    rng = np.random.default_rng(8)
    source = synth.mnist_by_label(mnist_test.images, mnist_test.labels)
    for _ in range(20):
        image, digits = synth.training_field(rng, [], source)
        assert digits.isdigit() and image.dtype == np.uint8 and image.shape[1] > image.shape[0]
        crop, _ = strings.normalize_crop(image)
        assert crop.max() > 0.6


def test_fields_cut_as_a_template_cuts_hold_the_whole_printed_box(mnist_test, monkeypatch):
    monkeypatch.setattr(synth, "PRINTED_BOX_SHARE", 1.0)
    monkeypatch.setattr(synth, "scanned", lambda image, rng: np.clip(image, 0, 255).astype(np.uint8))
    rng = np.random.default_rng(9)
    source = synth.mnist_by_label(mnist_test.images, mnist_test.labels)
    fonts = synth.find_fonts()
    for _ in range(20):
        image, digits = synth.training_field(rng, fonts, source)
        assert digits.isdigit()
        paper = np.median(image)
        dark_rows = np.flatnonzero((image < paper - 15).mean(axis=1) > 0.6)
        # the box's top and bottom walls run across the crop, one in each half
        assert dark_rows.size and dark_rows.min() < image.shape[0] / 2 < dark_rows.max(), digits


def test_latin_american_ones_are_drawn_up_from_near_the_baseline():
    rng = np.random.default_rng(3)
    ink = np.zeros((28, 28), np.float32)
    ink[4:24, 13:15] = 1.0  # a plain stick
    starts = []
    for _ in range(40):
        out = augment._flagged_one(ink, rng)
        added = (out > 0.5) & (ink < 0.5)
        rows, cols = np.nonzero(added[:, :12])
        starts.append(rows.max() if rows.size else 0)
    low = np.mean(np.array(starts) >= 4 + 0.5 * 20)
    assert 0.15 < low < 0.6  # some lead-ins start low, most stay short flags
