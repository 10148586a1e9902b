"""MNIST-style normalization of one digit crop, used identically by training and by extraction.

MNIST digits were fitted into a 20x20 box keeping their aspect ratio, anti-aliased, and placed in a
28x28 field so that their centre of mass sits at the centre. Every crop the model sees, whether an
MNIST training image, an augmented one, or a digit cut from a scanned page, goes through
:func:`normalize_digit`, so the model never meets a crop prepared differently from what it learned.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Side of the box the digit's longer side is fitted into, in pixels (MNIST: 20).
FIT = 20
#: Side of the output image, in pixels (MNIST: 28).
SIZE = 28
#: Ink values at or below this (on a 0..1 scale) count as paper when finding the digit's box.
INK_FLOOR = 0.12


def ink_from_gray(gray: np.ndarray) -> np.ndarray:
    """Ink intensity of a crop of dark ink on light paper, float32 in [0, 1] (paper 0, ink 1).

    The paper level is taken from the lighter pixels and the ink level from the darkest, so a faint
    pencil digit and a heavy marker digit both span the whole range.

    >>> ink_from_gray(np.array([[255, 0]], np.uint8)).tolist()
    [[0.0, 1.0]]
    """
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim == 3:  # colour: the darkest channel, where ink of any colour is darkest
        gray = gray[..., :3].min(axis=2)
    if gray.size == 0:
        return np.zeros((0, 0), np.float32)
    paper = float(np.percentile(gray, 90))
    ink = float(gray.min())
    if paper - ink < 1e-3:
        return np.zeros(gray.shape, np.float32)
    return np.clip((paper - gray) / (paper - ink), 0.0, 1.0).astype(np.float32)


def normalize_digit(ink: np.ndarray) -> np.ndarray:
    """Fit a digit's ink into 20x20 keeping its aspect ratio, then centre its mass in 28x28.

    Parameters
    ----------
    ink : (h, w) array
        Ink intensity, paper 0 and ink high (any scale: uint8 or float).

    Returns
    -------
    (28, 28) float32 array in [0, 1], white digit on black, as MNIST. All zeros if there is no ink.

    >>> img = np.zeros((60, 20), np.uint8); img[5:55, 8:12] = 255
    >>> out = normalize_digit(img); out.shape, round(float(out.max()), 2)
    ((28, 28), 1.0)
    """
    ink = np.asarray(ink, dtype=np.float32)
    out = np.zeros((SIZE, SIZE), np.float32)
    if ink.size == 0:
        return out
    peak = float(ink.max())
    if peak <= 0:
        return out
    ink = ink / peak
    ink[ink <= INK_FLOOR] = 0.0
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return out
    ink = ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    h, w = ink.shape
    scale = FIT / max(h, w)
    new_w = max(1, int(round(w * scale)))
    new_h = max(1, int(round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    fitted = cv2.resize(ink, (new_w, new_h), interpolation=interpolation)
    fitted = np.clip(fitted, 0.0, 1.0)
    rows, cols = fitted.sum(axis=1, dtype=np.float64), fitted.sum(axis=0, dtype=np.float64)
    mass = float(rows.sum())
    if mass <= 0:
        return out
    cy = float(rows @ np.arange(new_h)) / mass
    cx = float(cols @ np.arange(new_w)) / mass
    # The centre of mass goes to the centre of the grid, (13.5, 13.5) in pixel indices (MNIST's
    # own files sit half a pixel lower and to the right; the model learned this convention).
    top = int(round((SIZE - 1) / 2 - cy))
    left = int(round((SIZE - 1) / 2 - cx))
    top = min(max(top, 0), SIZE - new_h)
    left = min(max(left, 0), SIZE - new_w)
    out[top: top + new_h, left: left + new_w] = fitted
    return out


def normalize_batch(inks: list[np.ndarray], normalize=normalize_digit, shape: tuple[int, int] = (SIZE, SIZE)) -> np.ndarray:
    """Normalize many crops into one (n, *shape, 1) float32 batch for a model: by default digits, as
    :func:`normalize_digit` makes them, for the digit model."""
    batch = np.zeros((len(inks), *shape, 1), np.float32)
    for i, ink in enumerate(inks):
        batch[i, :, :, 0] = normalize(ink)
    return batch


def normalize_gray_crop(gray: np.ndarray) -> np.ndarray:
    """A grey crop of one digit (dark ink on light paper, as scanned) normalized for the model."""
    return normalize_digit(ink_from_gray(gray))
