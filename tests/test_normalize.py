import numpy as np
import pytest

from extractor.normalize import ink_from_gray, normalize_digit


def centre_of_mass(img):
    ys, xs = np.indices(img.shape)
    return (ys * img).sum() / img.sum(), (xs * img).sum() / img.sum()


def test_fits_20_pixels_keeping_aspect_and_centres_mass():
    bar = np.zeros((300, 60), np.uint8)
    bar[:, 20:40] = 255  # a tall upright stroke, 15 times taller than wide
    out = normalize_digit(bar)
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    assert rows[-1] - rows[0] + 1 == 20
    assert cols[-1] - cols[0] + 1 <= 2
    cy, cx = centre_of_mass(out)
    assert abs(cy - 13.5) <= 0.6 and abs(cx - 13.5) <= 0.6


@pytest.mark.parametrize("stroke", [5, 10, 15, 20, 30])
def test_a_thin_one_keeps_its_ink_and_its_centre(stroke):
    # Fitted 1 to 3 px wide: a (20, 2) array is one OpenCV would take for a list of points.
    bar = np.zeros((200, 60), np.uint8)
    bar[:, 20: 20 + stroke] = 255
    out = normalize_digit(bar)
    assert out.max() == 1.0
    cy, cx = centre_of_mass(out)
    assert abs(cy - 13.5) <= 0.6 and abs(cx - 13.5) <= 0.6


def test_same_digit_at_any_scale_and_contrast_gives_the_same_crop(mnist_test):
    digit = mnist_test.images[0]
    big = np.kron(digit, np.ones((5, 5), np.uint8))
    scanned = 230 - (big.astype(np.float32) * 0.6).astype(np.uint8)  # faint grey ink on grey paper
    a = normalize_digit(digit)
    b = normalize_digit(ink_from_gray(scanned))
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.95


def test_normalizing_twice_changes_nothing(mnist_test):
    for digit in mnist_test.images[:50]:
        once = normalize_digit(digit)
        twice = normalize_digit(once)
        assert np.corrcoef(once.ravel(), twice.ravel())[0, 1] > 0.97


def test_no_ink_gives_an_empty_crop():
    assert normalize_digit(np.zeros((5, 5))).sum() == 0
    assert normalize_digit(np.zeros((0, 0))).shape == (28, 28)
    assert ink_from_gray(np.full((4, 4), 200, np.uint8)).sum() == 0
