"""Reading a whole line of digits at once: a convolutional sequence model with CTC.

Segmentation reads a string one glyph at a time, and that is where it fails on real writing: the
zeros of "000" chained by ligatures, a 1 leaning into its neighbour, a digit broken in two. A
sequence reader never cuts: it slides over the line and says, column by column, which digit it
sees or "nothing" (the CTC blank), so touching, overlapping and broken digits are all one case.
This module normalizes a line's ink for it, composes its training lines from MNIST digits with the
separators that amounts carry (dots, commas, dashes, "/-"), and decodes its output into digits with
a probability each and their columns on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import augment
from .pairs import _digit_ink, _slant_and_scan

#: Normalized line crops: the line's ink fitted to FIT_HEIGHT rows (keeping its aspect, narrowed
#: only if it would not fit), left-aligned in HEIGHT x WIDTH.
HEIGHT, WIDTH = 32, 256
FIT_HEIGHT, MARGIN = 28, 2
#: Columns of the crop per output step (the network's horizontal stride).
STEP = 4
STEPS = WIDTH // STEP
#: Output classes: digits 0-9, then the CTC blank ("no digit here").
BLANK = 10
CLASSES = 11
#: Longest training line, in digits (as long as account numbers and the longest amounts); the label
#: arrays are padded with -1 to this length.
MAX_DIGITS = 12
DEFAULT_STRING_MODEL = Path(__file__).resolve().parent.parent / "models" / "strings.keras"
#: The string reader's input: a field's grey crop as darkness (paper 0, its darkest ink 1), scaled
#: to CROP_HEIGHT rows keeping its aspect and left-aligned in CROP_HEIGHT x CROP_WIDTH (narrowed only
#: when longer): every real cheque amount of the dev set fits at full height.
CROP_HEIGHT, CROP_WIDTH = 32, 192
CROP_STEPS = CROP_WIDTH // STEP
#: A crop's paper is the grey level this share of its pixels are darker than, its ink the level
#: INK_SHARE of them are darker than; darkness is measured between the two, over at least MIN_RANGE
#: grey levels (an empty crop stays pale).
PAPER_SHARE, INK_SHARE, MIN_RANGE = 0.9, 0.01, 40.0
#: Digit height, in pixels, at which training lines are composed.
COMPOSE_HEIGHT = 40


@dataclass(frozen=True)
class LineReading:
    """A line read by the sequence model: its digits, each digit's probability, each digit's columns
    (from, to) in the line's own pixels, and the probability of the whole text."""

    text: str
    confidences: tuple[float, ...]
    spans: tuple[tuple[int, int], ...]
    confidence: float


def normalize_line(ink: np.ndarray) -> tuple[np.ndarray, float, int]:
    """A line's ink (any size) as a HEIGHT x WIDTH float32 crop in [0, 1], with the horizontal
    scale applied and the crop column where the ink's left edge lands, so that the reader's columns
    map back onto the line: ``x_line = (x_crop - left) / scale``."""
    ink = np.asarray(ink, np.float32)
    out = np.zeros((HEIGHT, WIDTH), np.float32)
    if ink.size == 0 or ink.max() <= 0:
        return out, 1.0, MARGIN
    ink = ink / float(ink.max())
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.12), np.flatnonzero(ink.max(axis=0) > 0.12)
    if rows.size == 0:
        return out, 1.0, MARGIN
    ink = ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    h, w = ink.shape
    scale = FIT_HEIGHT / h
    new_w = min(max(1, int(round(w * scale))), WIDTH - 2 * MARGIN)  # a long line is narrowed, never cut
    x_scale = new_w / w
    fitted = cv2.resize(ink, (new_w, FIT_HEIGHT), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top = (HEIGHT - FIT_HEIGHT) // 2
    out[top: top + FIT_HEIGHT, MARGIN: MARGIN + new_w] = np.clip(fitted, 0.0, 1.0)
    return out, x_scale, MARGIN - int(cols[0] * x_scale)


def normalize_crop(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """A field's grey crop (paper light, ink dark, any size) as the string reader's input: a
    CROP_HEIGHT x CROP_WIDTH float32 darkness image, and the horizontal scale applied, so that the
    reader's columns map back onto the crop: ``x_crop = x_input / scale``. Nothing is binarized:
    faint strokes stay faint, and the paper's pattern stays for the reader to tell from ink."""
    gray = np.asarray(gray, np.float32)
    out = np.zeros((CROP_HEIGHT, CROP_WIDTH), np.float32)
    if gray.ndim != 2 or gray.size == 0:
        return out, 1.0
    paper, ink = np.percentile(gray, [100 * PAPER_SHARE, 100 * INK_SHARE])
    dark = np.clip((paper - gray) / max(paper - ink, MIN_RANGE), 0.0, 1.0)
    h, w = dark.shape
    new_w = min(max(1, int(round(w * CROP_HEIGHT / h))), CROP_WIDTH)
    area = h > CROP_HEIGHT or w > new_w
    out[:, :new_w] = cv2.resize(dark, (new_w, CROP_HEIGHT), interpolation=cv2.INTER_AREA if area else cv2.INTER_LINEAR)
    return out, new_w / w


def read_crops(reader, crops: list[np.ndarray]) -> list[LineReading]:
    """Many fields' grey crops read by the string ``reader`` (a callable from a (n, CROP_HEIGHT,
    CROP_WIDTH, 1) batch to (n, CROP_STEPS, CLASSES) probabilities); each reading's spans are in
    its crop's columns."""
    if not crops:
        return []
    made = [normalize_crop(crop) for crop in crops]
    probs = reader(np.stack([m[0] for m in made])[..., None])
    return [decode(p, scale, 0) for p, (_, scale) in zip(probs, made)]


def decode(probs: np.ndarray, scale: float = 1.0, left: int = MARGIN) -> LineReading:
    """The best path through one line's (STEPS, CLASSES) output: repeats merged, blanks dropped.
    A digit's probability is the highest its class reaches over the steps it spans; the reading's
    is the probability the reader gives its text (:func:`text_probability`)."""
    best = probs.argmax(axis=1)
    text, confidences, spans = [], [], []
    step = 0
    while step < len(best):
        end = step
        while end + 1 < len(best) and best[end + 1] == best[step]:
            end += 1
        if best[step] != BLANK:
            text.append(str(int(best[step])))
            confidences.append(float(probs[step: end + 1, best[step]].max()))
            x0, x1 = step * STEP, (end + 1) * STEP
            spans.append((int(max(0, (x0 - left) / scale)), int(max(0, (x1 - left) / scale))))
        step = end + 1
    return LineReading("".join(text), tuple(confidences), tuple(spans), text_probability(probs, "".join(text)))


def text_probability(probs: np.ndarray, text: str) -> float:
    """The probability the line reader gives ``text`` on one line ((STEPS, CLASSES) output): the sum
    over every path that spells it (the CTC forward algorithm), not just the best one."""
    labels = [BLANK]
    for ch in text:
        labels += [int(ch), BLANK]
    n = len(labels)
    # from the third label on, a digit may be reached straight from the digit before it (past the
    # blank between them) unless the two are the same digit
    can_skip = np.array([labels[k] != BLANK and labels[k] != labels[k - 2] for k in range(2, n)], bool)
    emitted = probs[:, labels].astype(np.float64)  # each step's probability of each label of the path
    alpha = np.zeros(n)
    alpha[0] = emitted[0, 0]
    if n > 1:
        alpha[1] = emitted[0, 1]
    scale = 0.0
    for t in range(1, len(probs)):
        step = alpha.copy()
        step[1:] += alpha[:-1]
        step[2:] += alpha[:-2] * can_skip
        alpha = step * emitted[t]
        total = alpha.sum()
        if total <= 0:
            return 0.0
        alpha /= total
        scale += np.log(total)
    end = alpha[-1] + (alpha[-2] if n > 1 else 0.0)
    return float(np.exp(scale) * end)


def read_lines(reader, inks: list[np.ndarray]) -> list[LineReading]:
    """Many lines' ink read by ``reader`` (a callable from a (n, HEIGHT, WIDTH, 1) batch to
    (n, STEPS, CLASSES) probabilities)."""
    if not inks:
        return []
    made = [normalize_line(ink) for ink in inks]
    probs = reader(np.stack([m[0] for m in made])[..., None])
    return [decode(p, scale, left) for p, (_, scale, left) in zip(probs, made)]


# -- training lines ----------------------------------------------------------------------------

def _mark(kind: str, height: float, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A separator's ink, drawn for a line whose digits are ``height`` high, and where its top sits
    (a share of the height down from the digits' top)."""
    size = int(height * 1.2)
    canvas = np.zeros((size, size), np.float32)
    width = max(2, int(round(height * rng.uniform(0.06, 0.14))))
    if kind in ("dot", "comma"):
        r = max(1.5, height * rng.uniform(0.05, 0.1))
        c = size // 2
        cv2.circle(canvas, (c, c), int(round(r)), 1.0, -1, cv2.LINE_AA)
        if kind == "comma":
            cv2.line(canvas, (c + int(r * 0.5), c), (c - int(r), c + int(height * rng.uniform(0.2, 0.35))), 1.0,
                     width, cv2.LINE_AA)
        top = rng.uniform(0.8, 0.95)
    elif kind == "dash":
        length = height * rng.uniform(0.2, 0.45)
        y = size // 2 + int(rng.uniform(-0.05, 0.05) * height)
        cv2.line(canvas, (4, y), (4 + int(length), y + int(rng.uniform(-0.05, 0.05) * height)), 1.0, width, cv2.LINE_AA)
        top = rng.uniform(0.35, 0.6)
    else:  # "/-": a slash leaning well past a 1, then a dash; or "=" closing the amount
        if kind == "slash_dash":
            h = height * rng.uniform(0.6, 1.0)
            lean = h * rng.uniform(0.45, 0.9)
            cv2.line(canvas, (4, int(h)), (4 + int(lean), 2), 1.0, width, cv2.LINE_AA)
            y = int(h * rng.uniform(0.35, 0.65))
            cv2.line(canvas, (4 + int(lean * 0.6), y), (4 + int(lean + height * rng.uniform(0.2, 0.4)), y), 1.0,
                     width, cv2.LINE_AA)
            top = rng.uniform(0.0, 0.3)
        else:
            length = height * rng.uniform(0.3, 0.5)
            gap = int(height * rng.uniform(0.15, 0.25))
            for dy in (0, gap):
                cv2.line(canvas, (4, 4 + dy), (4 + int(length), 4 + dy), 1.0, width, cv2.LINE_AA)
            top = rng.uniform(0.3, 0.5)
    rows, cols = np.flatnonzero(canvas.max(axis=1) > 0.3), np.flatnonzero(canvas.max(axis=0) > 0.3)
    return canvas[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1], top


#: How often a training line has 1, 2, ... MAX_DIGITS digits.
_COUNT_WEIGHTS = np.array([4, 6, 8, 9, 9, 9, 8, 7, 6, 5, 4, 4], float)
_COUNT_WEIGHTS /= _COUNT_WEIGHTS.sum()


def _digit_count(rng: np.random.Generator) -> int:
    return int(rng.choice(np.arange(1, MAX_DIGITS + 1), p=_COUNT_WEIGHTS))


def training_line(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One training line and its digits: 1 to MAX_DIGITS MNIST digits written left to right on a
    wandering baseline, some overlapping or touching, some apart, a few with ligature tails, 1s
    and 7s now and then written with a flag and a bar (augment's styles), with
    dots, commas and dashes between them and now and then "/-", "=" or a dash after them; some
    written with a finer pen than MNIST's."""
    count = _digit_count(rng)
    picks = rng.integers(len(images), size=count)
    height = COMPOSE_HEIGHT * rng.uniform(0.9, 1.1)
    joined = rng.random() < 0.5  # cursive writers join most of a line, others leave gaps
    pieces: list[tuple[np.ndarray, float, float]] = []  # ink, gap before it, top (share of height)
    for k, i in enumerate(picks):
        ink = _digit_ink(images[i], height * rng.uniform(0.85, 1.15))
        ink = cv2.resize(ink, None, fx=float(np.exp(rng.uniform(-0.2, 0.35))), fy=1.0)
        style = augment._STYLES.get(int(labels[i])) if rng.random() < augment.STYLE_SHARE else None
        if style is not None or rng.random() < 0.08:  # a flagged 1 or crossed 7; a ligature tail
            ink = (style or augment._ligature)(np.pad(ink, int(height // 2)), rng)
            rows, cols = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
            ink = ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
        if k and rng.random() < 0.18 * (count > 2):
            kind = rng.choice(["dot", "dot", "comma", "dash"])
            mark, top = _mark(kind, height, rng)
            pieces.append((mark, height * rng.uniform(0.05, 0.3), top))
            gap = height * rng.uniform(0.05, 0.3)
        elif k == 0:
            gap = 0.0
        elif joined and rng.random() < 0.8:
            gap = height * rng.uniform(-0.25, 0.04)
        else:
            gap = height * rng.uniform(0.03, 0.5)
        pieces.append((ink, gap, 1.0 - ink.shape[0] / height + rng.uniform(-0.08, 0.08)))
    if rng.random() < 0.25:
        kind = rng.choice(["slash_dash", "slash_dash", "equals", "dash", "dot"])
        mark, top = _mark(kind, height, rng)
        pieces.append((mark, height * rng.uniform(0.05, 0.4), top))
    pad = int(height // 2)
    xs, x = [], pad
    for ink, gap, _ in pieces:
        x = max(pad, x + int(round(gap)))
        xs.append(x)
        x += ink.shape[1]
    canvas = np.zeros((int(height * 1.6) + 2 * pad, x + pad), np.float32)
    for x0, (ink, _, top) in zip(xs, pieces):
        y0 = max(0, pad + int(round(top * height)))
        view = canvas[y0: y0 + ink.shape[0], x0: x0 + ink.shape[1]]
        np.maximum(view, ink[: view.shape[0], : view.shape[1]], out=view)
    if rng.random() < 0.3:  # a fine pen: strokes thinner than MNIST's
        thinner = cv2.erode(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
        canvas = thinner if thinner.max() > 0.5 else canvas
    ink = _slant_and_scan(canvas, rng)
    if rng.random() < 0.1:  # specks the cleaning left
        specks = (rng.random(ink.shape) < 0.002).astype(np.float32)
        ink = np.maximum(ink, cv2.dilate(specks, np.ones((2, 2), np.uint8)))
    target = np.full(MAX_DIGITS, -1, np.int64)
    target[:count] = labels[picks]
    return ink, target


def make_line_epoch(images: np.ndarray, labels: np.ndarray, size: int, seed: int,
                    epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` normalized training lines and their digits (padded with -1), the same for a seed
    and epoch."""
    rng = np.random.default_rng([seed, epoch, 3])
    x = np.zeros((size, HEIGHT, WIDTH, 1), np.float32)
    y = np.zeros((size, MAX_DIGITS), np.int64)
    for i in range(size):  # each line normalized as it is made: the raw lines would take gigabytes
        ink, y[i] = training_line(images, labels, rng)
        x[i, :, :, 0] = normalize_line(ink)[0]
    return x, y


def make_field_epoch(images: np.ndarray, labels: np.ndarray, size: int, seed: int,
                     epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` synthetic grey fields (synth.py; MNIST digits from ``images``) as the string
    reader's input, and their digits (padded with -1), the same for a seed and epoch."""
    from . import synth

    rng = np.random.default_rng([seed, epoch, 5])
    fonts = synth.find_fonts()
    source = synth.mnist_by_label(images, labels)
    x = np.zeros((size, CROP_HEIGHT, CROP_WIDTH, 1), np.float32)
    y = np.full((size, MAX_DIGITS), -1, np.int64)
    for i in range(size):
        image, digits = synth.training_field(rng, fonts, source)
        x[i, :, :, 0] = normalize_crop(image)[0]
        y[i, : len(digits)] = [int(ch) for ch in digits]
    return x, y


def build_string_reader(folded: bool = False, dropout: float = 0.2):
    """The string reader, uncompiled: (n, CROP_HEIGHT, CROP_WIDTH, 1) darkness to (n, CROP_STEPS,
    CLASSES) softmax, one step per STEP columns: five convolutions over the crop, then three
    convolutions along the line (the widest sees about four digits either side), so that each step
    is read in the context of its neighbours, as a recurrent layer would, at a fraction of the
    cost on a CPU."""
    from .model import layer_makers, quiet_tensorflow

    tf = quiet_tensorflow()
    layers, block, conv, drop = layer_makers(folded, dropout)
    inputs = tf.keras.Input((CROP_HEIGHT, CROP_WIDTH, 1), name="crop")
    x = conv(inputs, "conv1", 16, padding="same")                        # 32 x 192
    x = layers.MaxPooling2D(2)(x)                                        # 16 x 96
    x = conv(x, "conv2", 48, padding="same")
    x = layers.MaxPooling2D(2)(x)                                        # 8 x 48
    x = conv(x, "conv3", 96, padding="same")
    x = conv(x, "conv4", 96, padding="same")
    x = layers.MaxPooling2D((2, 1))(x)                                   # 4 x 48
    x = conv(x, "conv5", 128, padding="same")
    x = layers.Permute((2, 1, 3))(x)                                     # 48 steps x 4 rows x 128
    x = layers.Reshape((CROP_STEPS, 4 * 128))(x)
    x = drop(block(x, "dense", lambda n, **kw: layers.Dense(192, name=n, **kw)))
    x = block(x, "context1", lambda n, **kw: layers.Conv1D(192, 5, padding="same", name=n, **kw))
    x = block(x, "context2", lambda n, **kw: layers.Conv1D(192, 5, padding="same", dilation_rate=2, name=n, **kw))
    x = drop(block(x, "context3", lambda n, **kw: layers.Conv1D(192, 3, padding="same", dilation_rate=4, name=n,
                                                                  **kw)))
    outputs = layers.Dense(CLASSES, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs, outputs, name="string_reader")


def ctc_loss(targets, probs):
    """Mean CTC loss of a batch: ``targets`` (n, MAX_DIGITS) digits padded with -1, ``probs``
    (n, STEPS, CLASSES) softmax outputs with the blank last."""
    import tensorflow as tf

    targets = tf.cast(targets, tf.int32)
    label_length = tf.reduce_sum(tf.cast(targets >= 0, tf.int32), axis=1)
    logits = tf.math.log(tf.clip_by_value(probs, 1e-8, 1.0))
    steps = tf.fill([tf.shape(probs)[0]], tf.shape(probs)[1])
    loss = tf.nn.ctc_loss(tf.maximum(targets, 0), logits, label_length, steps, logits_time_major=False,
                          blank_index=BLANK)
    return tf.reduce_mean(loss)


def build_string_model(folded: bool = False, dropout: float = 0.2):
    """The line reader, uncompiled: (n, 32, 256, 1) in [0, 1] to (n, 64, 11) softmax, one step per
    4 columns; built of the same blocks as the digit model (model.layer_makers)."""
    from .model import layer_makers, quiet_tensorflow

    tf = quiet_tensorflow()
    layers, block, conv, drop = layer_makers(folded, dropout)
    inputs = tf.keras.Input((HEIGHT, WIDTH, 1), name="line")
    x = conv(inputs, "conv1", 16, padding="same")                        # 32x256
    x = layers.MaxPooling2D(2)(x)                                        # 16x128
    x = conv(x, "conv2", 32, padding="same")
    x = layers.MaxPooling2D(2)(x)                                        # 8x64
    x = conv(x, "conv3", 48, padding="same")
    x = conv(x, "conv4", 48, padding="same")
    x = layers.MaxPooling2D((2, 1))(x)                                   # 4x64
    x = conv(x, "conv5", 64, padding="same")
    x = layers.Permute((2, 1, 3))(x)                                     # 64 steps x 4 rows x 64
    x = layers.Reshape((STEPS, 4 * 64))(x)
    x = drop(block(x, "dense", lambda n, **kw: layers.Dense(128, name=n, **kw)))
    x = block(x, "context1", lambda n, **kw: layers.Conv1D(128, 5, padding="same", name=n, **kw))
    x = drop(block(x, "context2", lambda n, **kw: layers.Conv1D(128, 5, padding="same", name=n, **kw)))
    outputs = layers.Dense(CLASSES, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs, outputs, name="strings")
