"""Reading two digits that overlap as one glyph: a second classifier over 100 pair classes.

Writers run digits into each other: a 1 leaning into a 6, two 8s sharing a loop, the zeros of
"000" chained together. No cut, straight or curved, separates ink that overlaps, and the digit
model, shown the whole glyph, reads its larger digit with full confidence. Touching-pair
recognition (100 classes "00" to "99" read at once) is the standard answer: this module normalizes
a glyph for it, makes its training pairs from MNIST digits, and turns its output into two digits.
Class 100 is "not two digits" (one digit, or three run together), so the pair reading is used
only where the pair model itself says there are two.
"""

from __future__ import annotations

import cv2
import numpy as np

from .model import MODELS_DIR
from .normalize import normalize_batch

#: Pair classes 0-99 are "ab" as 10 * a + b; this one is "not two digits".
NOT_A_PAIR = 100
PAIR_CLASSES = 101
#: Normalized pair crops: the glyph fitted into FIT_HEIGHT x FIT_WIDTH, centred in HEIGHT x WIDTH.
HEIGHT, WIDTH = 28, 56
FIT_HEIGHT, FIT_WIDTH = 20, 52
DEFAULT_PAIR_MODEL = MODELS_DIR / "pairs.keras"
#: Digit height, in pixels, at which training pairs are composed.
COMPOSE_HEIGHT = 40


def normalize_pair(ink: np.ndarray) -> np.ndarray:
    """Fit a glyph's ink into 20 x 52 keeping its aspect ratio (the height of an MNIST digit, room
    for two side by side), centred by its box in 28 x 56; float32 in [0, 1], all zeros if no ink."""
    ink = np.asarray(ink, np.float32)
    out = np.zeros((HEIGHT, WIDTH), np.float32)
    if ink.size == 0 or ink.max() <= 0:
        return out
    ink = ink / float(ink.max())
    ink[ink <= 0.12] = 0.0
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    h, w = ink.shape
    scale = min(FIT_HEIGHT / h, FIT_WIDTH / w)
    new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
    fitted = cv2.resize(ink, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (HEIGHT - new_h) // 2, (WIDTH - new_w) // 2
    out[top: top + new_h, left: left + new_w] = np.clip(fitted, 0.0, 1.0)
    return out


def normalize_pairs(inks: list[np.ndarray]) -> np.ndarray:
    """Many glyphs as one (n, 28, 56, 1) batch for the pair model."""
    return normalize_batch(inks, normalize_pair, (HEIGHT, WIDTH))


def digit_probabilities(pair_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The left and the right digit's 11-class probabilities (digits 0-9, then "not a digit", here
    the pair model's "not two digits") from one (101,) pair reading: each digit's marginal."""
    joint = pair_probs[:100].reshape(10, 10)
    rest = np.array([pair_probs[NOT_A_PAIR]], np.float32)
    return (np.concatenate([joint.sum(axis=1), rest]).astype(np.float32),
            np.concatenate([joint.sum(axis=0), rest]).astype(np.float32))


def _digit_ink(img28: np.ndarray, height: float) -> np.ndarray:
    """An MNIST digit's ink cropped to its box and scaled to ``height`` pixels."""
    img = img28.astype(np.float32) / 255.0
    rows, cols = np.flatnonzero(img.max(axis=1) > 0.1), np.flatnonzero(img.max(axis=0) > 0.1)
    img = img[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    scale = height / img.shape[0]
    return cv2.resize(img, (max(1, int(round(img.shape[1] * scale))), max(1, int(round(height)))),
                      interpolation=cv2.INTER_LINEAR).clip(0, 1)


def written_together(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """MNIST digits written left to right on one baseline, each overlapping or touching the one
    before (a gap from a quarter of a digit's height into it to a hair apart), as one ink image."""
    inks = [_digit_ink(d, COMPOSE_HEIGHT * rng.uniform(0.85, 1.15)) for d in digits]
    pad = COMPOSE_HEIGHT // 2
    xs, x = [], pad
    for ink in inks:
        xs.append(x)
        x += ink.shape[1] + int(round(COMPOSE_HEIGHT * rng.uniform(-0.25, 0.04)))
    drops = [int(round(COMPOSE_HEIGHT * rng.uniform(-0.08, 0.08))) for _ in inks]
    tallest = max(i.shape[0] for i in inks)
    canvas = np.zeros((tallest + 2 * pad, max(x0 + i.shape[1] for x0, i in zip(xs, inks)) + pad), np.float32)
    base = pad + tallest
    for x0, ink, dy in zip(xs, inks, drops):
        y0 = base - ink.shape[0] + dy
        view = canvas[y0: y0 + ink.shape[0], x0: x0 + ink.shape[1]]
        np.maximum(view, ink[: view.shape[0], : view.shape[1]], out=view)
    return canvas


def _slant_and_scan(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The glyph slanted and rotated a little as a whole, its stroke thickened or thinned, blurred
    or binarized, as writers and scanners vary."""
    h, w = ink.shape
    shear, angle = rng.uniform(-0.3, 0.3), np.deg2rad(rng.uniform(-6, 6))
    c, s = np.cos(angle), np.sin(angle)
    linear = np.array([[c, -s], [s, c]]) @ np.array([[1.0, shear], [0.0, 1.0]])
    centre = np.array([w / 2, h / 2])
    matrix = np.hstack([linear, (centre - linear @ centre)[:, None]])
    grow = int(abs(shear) * h) + 4
    matrix[0, 2] += grow
    ink = cv2.warpAffine(ink, matrix, (w + 2 * grow, h), flags=cv2.INTER_LINEAR)
    step = int(rng.choice([-1, 0, 0, 1, 1, 2]))
    if step:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(step) + 1,) * 2)
        thinner = cv2.erode(ink, kernel)
        ink = cv2.dilate(ink, kernel) if step > 0 else (thinner if thinner.max() > 0.5 else ink)
    if rng.random() < 0.3:
        ink = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.25:
        ink = (ink > rng.uniform(0.25, 0.6)).astype(np.float32)
    return np.clip(ink, 0, 1)


def training_glyph(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                   single_share: float = 0.25, triple_share: float = 0.05) -> tuple[np.ndarray, int]:
    """One training glyph and its pair class: two MNIST digits written together, or (class
    NOT_A_PAIR) one digit, sometimes with a ligature tail, or three written together."""
    from . import augment  # training only: reading never loads the augmentation

    r = rng.random()
    count = 1 if r < single_share else 3 if r < single_share + triple_share else 2
    picks = rng.integers(len(images), size=count)
    if count == 1:
        ink = _digit_ink(images[picks[0]], COMPOSE_HEIGHT * rng.uniform(0.85, 1.15))
        ink = cv2.resize(ink, None, fx=float(np.exp(rng.uniform(-0.2, 0.45))), fy=1.0)
        ink = np.pad(ink, COMPOSE_HEIGHT // 2)
        if rng.random() < 0.2:
            ink = augment._ligature(ink, rng)
        label = NOT_A_PAIR
    else:
        ink = written_together([images[i] for i in picks], rng)
        label = int(10 * labels[picks[0]] + labels[picks[1]]) if count == 2 else NOT_A_PAIR
    return _slant_and_scan(ink, rng), label


def make_pair_epoch(images: np.ndarray, labels: np.ndarray, size: int, seed: int,
                    epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` normalized training glyphs and their pair classes, the same for a seed and epoch."""
    rng = np.random.default_rng([seed, epoch, 2])
    glyphs = [training_glyph(images, labels, rng) for _ in range(size)]
    return normalize_pairs([g for g, _ in glyphs]), np.array([c for _, c in glyphs], np.int64)


def build_pair_model(folded: bool = False, dropout: float = 0.3):
    """The pair CNN, uncompiled: (n, 28, 56, 1) in [0, 1] to (n, 101) softmax; built like the digit
    model (model.build_model), a little wider, with ``folded`` meaning the same."""
    from .model import layer_makers, quiet_tensorflow

    tf = quiet_tensorflow()
    layers, block, conv, drop = layer_makers(folded, dropout)
    inputs = tf.keras.Input((HEIGHT, WIDTH, 1), name="glyph")
    x = conv(inputs, "conv1", 32)                           # 26x54
    x = conv(x, "conv2", 32, strides=2)                     # 12x26
    x = drop(x)
    x = conv(x, "conv3", 48)                                # 10x24
    x = conv(x, "conv4", 48)                                # 8x22
    x = conv(x, "conv5", 96, strides=2, padding="same")     # 4x11
    x = drop(layers.Flatten()(x))
    x = drop(block(x, "dense", lambda n, **kw: layers.Dense(192, name=n, **kw)))
    outputs = layers.Dense(PAIR_CLASSES, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs, outputs, name="pairs")
