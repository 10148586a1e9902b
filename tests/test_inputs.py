"""Inputs as people send them: the shipped sample forms stored sideways with an EXIF orientation,
turned, as WebP, HEIC, GIF and Group 4 TIFF, photographed by a phone; and a stray file beside them."""

import numpy as np
import pytest
from PIL import Image

from extractor import api, orient
from extractor.pages import find_inputs, load_pages
from extractor.records import read_csv

from conftest import ROOT
from test_cli import run_cli
from variants import expected_found, phone_photo, sample_pages, turned, write_variants

#: Of the 24 strings of samples/forms, each variant must read at least this many.
BAR = 22


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    return write_variants(tmp_path_factory.mktemp("variants"), np.random.default_rng(0))


@pytest.fixture(scope="module")
def expected():
    return read_csv(ROOT / "samples" / "expected.csv")


@pytest.mark.parametrize("variant", ["exif_sideways", "turned_90", "turned_180", "turned_270", "webp", "phone",
                                     "g4_tiff"])
def test_each_variant_of_the_sample_forms_reads_its_strings(variants, expected, classifier, variant):
    frame = api.extract([variants[variant]], classify=classifier)
    assert (frame["error"] == "").all(), frame[frame["error"] != ""]
    assert frame["source"].nunique() == 3
    assert expected_found(frame, expected) >= BAR, variant


def test_a_photo_stored_sideways_is_shown_upright(variants):
    page = load_pages(variants["exif_sideways"] / "form_1.jpg")[0]
    upright = sample_pages()["form_1"]
    assert page.image.shape == upright.shape  # turned by its EXIF tag, as every viewer shows it
    assert np.abs(page.image.astype(int) - upright).mean() < 4
    assert page.dpi is None  # the 72 dpi a camera writes is no scan resolution


def test_a_phone_photo_is_flattened_onto_its_sheet_and_boxes_map_back():
    page = sample_pages()["form_2"]
    photo = phone_photo(page, np.random.default_rng(3))
    flat = orient.flattened(photo)
    assert flat.flattened and not orient.flattened(page).flattened  # a scan has paper to its edges
    h, w = flat.image.shape
    assert abs(h / w - page.shape[0] / page.shape[1]) < 0.03
    # the light evened out: the paper as bright on the dark side of the photo as on the bright one
    paper = [np.percentile(flat.image[:, :w // 4], 80), np.percentile(flat.image[:, -w // 4:], 80)]
    assert abs(paper[0] - paper[1]) < 12
    x, y, bw, bh = flat.to_given(0, 0, w, h)  # the whole sheet lies inside the photo
    assert 0 <= x and 0 <= y and x + bw <= photo.shape[1] and y + bh <= photo.shape[0]


def test_a_box_on_a_turned_page_maps_back_onto_the_page_as_given():
    given = np.zeros((30, 50), np.uint8)
    given[5:9, 10:20] = 255  # a mark at x 10, y 5, 10 wide, 4 high
    for turns in (1, 2, 3):
        page = orient.turned(orient.Upright(given), turns)
        ys, xs = np.nonzero(page.image)
        box = (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        assert page.to_given(*box) == (10, 5, 10, 4), turns
        assert page.turns == turns


def test_writing_that_runs_down_the_page_is_seen_as_a_page_on_its_side():
    row = [(100 + 60 * i, 200, 40, 60) for i in range(12)]  # a line of digits, each beside the next
    assert not orient.lines_run_down(row + [(x, y + 300, w, h) for x, y, w, h in row])
    assert orient.lines_run_down([(y, x, h, w) for x, y, w, h in row + [(x, y + 300, w, h) for x, y, w, h in row]])


def test_boxes_of_a_turned_page_are_where_its_digits_are(classifier):
    upright = sample_pages()["form_1"]
    for turns in (1, 2, 3):
        image = turned(upright, turns)
        strings = {s.text: s for s in api.read_page_image(image, 300, classifier)}
        s = strings["10634036387"]  # the first comb: near the top of the upright page
        assert (s.h > s.w) == (turns % 2 == 1), turns
        assert np.mean(image[s.y: s.y + s.h, s.x: s.x + s.w] < 128) > 0.05, turns  # ink where the box says


def test_heic_and_multi_frame_gif_are_read(tmp_path):
    page = turned(sample_pages()["form_1"], 0)
    Image.fromarray(page).convert("RGB").save(tmp_path / "photo.heic")
    frames = [Image.fromarray(page), Image.fromarray(255 - page)]
    frames[0].save(tmp_path / "two.gif", save_all=True, append_images=frames[1:])
    assert load_pages(tmp_path / "photo.heic")[0].image.shape[:2] == page.shape
    assert len(load_pages(tmp_path / "two.gif")) == 2
    assert [i.source for i in find_inputs([tmp_path]).items] == ["photo.heic", "two.gif"]


def test_files_that_are_not_images_are_counted_and_named_not_read(variants, tmp_path):
    out = tmp_path / "out.csv"
    run = run_cli("extract", variants["exif_sideways"], "-o", out, "--verbose", "--workers", "1")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "1 skipped (not images or PDFs)" in run.stderr
    assert "skipped notes.txt: not an image or a PDF" in run.stderr
    assert "notes.txt" not in set(read_csv(out)["source"])
    quiet = run_cli("extract", variants["exif_sideways"], "-o", out, "--workers", "1")
    assert "1 skipped" in quiet.stderr and "skipped notes.txt" not in quiet.stderr


def test_a_png_stored_sideways_with_an_exif_tag_is_turned(tmp_path):
    ink = np.full((20, 40), 255, np.uint8)
    ink[:, :5] = 0  # a bar down the left side
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    Image.fromarray(ink).save(tmp_path / "sideways.png", exif=exif)
    Image.fromarray(ink).save(tmp_path / "plain.png")
    turned = load_pages(tmp_path / "sideways.png")[0].image
    assert turned.shape[:2] == (40, 20) and (turned[:5] == 0).all() and (turned[5:] == 255).all()
    assert load_pages(tmp_path / "plain.png")[0].image.shape[:2] == (20, 40)
