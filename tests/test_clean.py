import cv2
import numpy as np

from extractor import clean, generate


def written(text, rng, height=50, gap=20):
    page = np.full((200, 80 + len(text) * 60), 255, np.uint8)
    generate.write_string(page, text, 40, 130, height, generate.stroke_digit_source(), rng, touching=0)
    return page


def test_textured_background_drops_out_and_strokes_stay(rng):
    page = written("3507", rng)
    ys, xs = np.indices(page.shape)
    texture = (np.sin(xs / 3.0 + np.sin(ys / 9.0) * 4) > 0.7) * 45  # light guilloche lines
    textured = np.clip(page.astype(int) - texture - 20, 0, 255).astype(np.uint8)
    ink = clean.binarize(textured, 50)
    truth = page < 128
    assert (ink & truth).sum() / truth.sum() > 0.9          # strokes kept
    assert (ink & ~truth).sum() < 0.1 * truth.sum()          # texture not taken for ink


def test_a_printed_pattern_covering_the_page_drops_out_and_the_pen_stays(rng):
    """A cheque printed all over in a pastel colour with thin paper-white lines (triangles, the bank's
    name): next to the white lines the pastel is darker than its paper, over most of the page, by a
    third of what the pen is; it is no ink."""
    page = written("3507", rng)
    ys, xs = np.indices(page.shape)
    lattice = ((xs + ys) % 9 < 2) | ((xs - ys) % 9 < 2)  # white lines every 9 pixels
    printed = np.where(lattice, 240, 180)
    cheque = np.minimum(printed, np.where(page < 128, 50, 255)).astype(np.uint8)
    ink = clean.binarize(cheque, 50)
    truth = page < 128
    assert (ink & truth).sum() / truth.sum() > 0.9          # strokes kept
    assert (ink & ~truth).sum() < 0.15 * truth.sum()         # the pattern is not ink (it covers 17 times the pen)


def test_uneven_light_and_faint_pencil(rng):
    page = written("1948", rng)
    light = np.linspace(0.55, 1.0, page.shape[1])[None, :]
    faint = (255 - (255 - page.astype(float)) * 0.35) * light  # pencil, under a shadow
    ink = clean.binarize(faint.astype(np.uint8), 50)
    truth = page < 128
    assert (ink & truth).sum() / truth.sum() > 0.85
    assert (ink & ~truth).sum() < 0.1 * truth.sum()


def test_blank_paper_stays_blank(rng):
    noise = np.clip(235 + rng.normal(0, 6, (300, 300)), 0, 255).astype(np.uint8)
    assert clean.binarize(noise, 50).sum() == 0


def test_skew_is_measured_and_corrected(rng):
    page = np.full((1200, 1000), 255, np.uint8)
    for row in range(8):
        generate.write_string(page, "123456789012", 60, 150 + row * 130, 50, generate.stroke_digit_source(), rng, touching=0)
    for angle in (-4.0, 2.5):
        tilted = clean.rotate(page, angle)
        found = clean.estimate_skew(clean.binarize(tilted, 50))
        assert abs(found + angle) <= 0.5


def test_rules_come_out_and_digits_crossing_them_stay_whole(rng):
    page = written("74", rng, height=60)
    cv2.line(page, (0, 110), (page.shape[1], 110), 0, 3)   # a ruled line through the digits
    cv2.rectangle(page, (10, 40), (page.shape[1] - 10, 160), 0, 3)  # a box around them
    ink = clean.binarize(page, 60)
    rules = clean.find_rules(ink, 60)
    kept = clean.remove_rules(ink, rules, 60)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(kept.astype(np.uint8))
    big = [s for s in stats[1:] if s[3] > 30]
    assert len(big) == 2  # the 7 and the 4, each still one piece, no rule left
    assert all(s[3] < 90 for s in big)


def test_a_zero_written_over_a_comb_wall_stays_one_loop_at_the_working_resolution():
    """At 150 dpi, where pages are cleaned, a wall of one or two pixels and the margins taken with
    it leave a gap wider than a quarter of the digit height in a stroke crossing it."""
    for wall in (1, 2):
        page = np.full((90, 240), 255, np.uint8)
        cv2.line(page, (10, 15), (230, 15), 0, 2)
        cv2.line(page, (10, 75), (230, 75), 0, 2)
        for x in (10, 70, 130, 190, 230):
            cv2.line(page, (x, 15), (x, 75), 0, wall)
        cv2.ellipse(page, (130, 45), (11, 17), 0, 0, 360, 0, 3, cv2.LINE_AA)  # a 0 across the middle wall
        ink = clean.binarize(page, 21)
        kept = clean.remove_rules(ink, clean.find_rules(ink, 21), 21)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(kept.astype(np.uint8))
        pieces = [s for s in stats[1:] if s[cv2.CC_STAT_AREA] > 5]
        assert len(pieces) == 1 and pieces[0][cv2.CC_STAT_WIDTH] >= 24  # the whole 0, walls gone


def test_a_stem_standing_on_an_underline_is_not_a_box_side():
    page = np.full((200, 400), 255, np.uint8)
    cv2.line(page, (20, 150), (380, 150), 0, 3)      # the underline
    cv2.circle(page, (120, 95), 18, 0, 4)            # a 9: its loop ...
    cv2.line(page, (137, 95), (137, 149), 0, 4)      # ... and a straight stem down onto the line
    cv2.rectangle(page, (200, 60), (360, 150), 0, 3)  # a box beside it, shorter than 2 digits
    ink = clean.binarize(page, 40)                   # writing taller than the page's digit height
    rules = clean.find_rules(ink, 40)
    kept = clean.remove_rules(ink, rules, 40)
    nine = kept[:, 90:160]
    assert nine[80:145].any(axis=1).all()            # the 9 is still there, stem all the way down
    assert nine.sum() > 0.9 * (ink[:140, 90:160]).sum()
    assert not kept[:, 195:365].any()                # the box beside it is gone, sides and all


def test_an_upright_1_just_under_a_comb_top_is_writing_not_a_wall():
    """Comb walls meet the top rule; a 1 written two pixels below it does not, and stays ink."""
    page = np.full((120, 300), 255, np.uint8)
    cv2.rectangle(page, (20, 30), (260, 76), 0, 2)   # a comb of four cells, 46 px tall inside
    for x in (80, 140, 200):
        cv2.line(page, (x, 30), (x, 76), 0, 2)
    cv2.line(page, (110, 34), (110, 70), 0, 2)       # a 1 in the second cell, its top 2 px down
    ink = clean.binarize(page, 21)
    rules = clean.find_rules(ink, 21)
    assert rules[40:70, 140].all() and rules[40:70, 80].all()  # the walls are rules
    assert not rules[36:70, 108:113].any()                     # the 1 is not
    assert clean.remove_rules(ink, rules, 21)[38:68, 109:112].any(axis=1).all()


def test_bold_felt_pen_strokes_are_found_solid_not_hollow():
    page = np.full((160, 200), 255, np.uint8)
    cv2.ellipse(page, (100, 55), (22, 20), 0, 0, 360, 20, 16)   # a bold 8: two fat loops
    cv2.ellipse(page, (100, 100), (26, 24), 0, 0, 360, 20, 16)
    truth = page < 128
    ink = clean.binarize(page, 40)                               # strokes 16 px wide, digits 40 tall
    assert (ink & truth).sum() / truth.sum() > 0.95
    assert (ink & ~truth).sum() < 0.05 * truth.sum()
