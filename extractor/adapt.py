"""Readers that know a customer's writers: the string reader fine-tuned on the fields a user
corrected (``extractor adapt``), written with every other model into a models folder of its own.

The shipped ``models/`` never change. The user's crops are varied (shift, scale, slant, pen, blur,
JPEG) and mixed with twice as many of the synthetic fields the reader was trained on, so that it
learns the new hands without forgetting the others; a first pass with a share of the corrections held out
says how much better the adapted readers read than the shipped ones on fields they never saw.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from . import clean, strings
from .errors import DataError, InputError
from .model import MODELS_DIR

#: The models a models folder holds (each with its card beside it, .json).
MODEL_FILES = ("digits.keras", "pairs.keras", "strings.keras")
#: Epochs of the string reader's and the digit model's tuning: what fits 128 fields in 10 minutes
#: on 2 cores with PP-OCRv6's last layer beside them.
EPOCHS = 6
#: Share of the corrections kept out of the first pass's training, to measure the gain.
HELD_OUT_SHARE = 0.25
#: Varied copies of each corrected crop per epoch.
COPIES_PER_EPOCH = 8
#: Synthetic fields mixed into each epoch per user crop: what keeps the reader from forgetting
#: the writers it was trained on.
SYNTHETIC_PER_USER = 2
#: An epoch holds at least this many of the user's varied crops (a few corrections still train)
#: and at most USER_PER_EPOCH_AT_MOST: with more fields, fewer copies of each, so that the tuning's
#: time stops growing with the fields (1600: 8 copies of 128 corrections, 4 of 400 lessons; an
#: epoch draws its crops at random, so past that not every field is in every epoch).
MIN_USER_PER_EPOCH = 256
USER_PER_EPOCH_AT_MOST = 1600
#: Fine-tuning's learning rate (Adam): a tenth of the training's peak, so the reader moves, not jumps.
LEARNING_RATE = 2e-4
#: A corrected field's crop reaches this share of its height beyond its box, as field crops do.
CORRECTION_MARGIN = 0.15
#: The digit model's fine-tuning: varied copies of each digit matched in the corrections per epoch,
#: with MNIST_PER_USER_DIGIT MNIST digits (and the training's not-a-digit clutter) mixed in per copy,
#: at DIGIT_LEARNING_RATE. As many steps as the matched digits give, no floor: a few dozen digits
#: copied to fill a fixed epoch taught those few glyphs, not the writers (docs/experiments.md).
DIGIT_COPIES_PER_EPOCH = 8
MNIST_PER_USER_DIGIT = 2
DIGIT_LEARNING_RATE = 2e-4
#: The digit model's epoch holds at most this many varied copies of matched digits (8 of 500).
DIGIT_COPIES_AT_MOST = 4000
#: PP-OCRv6's last layer is tuned on at most this many feature rows (crops and varied copies):
#: with more fields, fewer copies of each, at least the crop itself (4 copies of 400 lessons).
HEAD_ROWS_AT_MOST = 1600


@dataclass(frozen=True)
class HeadTuning:
    """How PP-OCRv6's last layer is tuned (fitted_ppocr_head): each crop and ``copies`` - 1 varied
    copies, ``epochs`` epochs of Adam at ``learning_rate``, the squared distance from the graph's
    own weights times ``l2`` added to the loss."""

    copies: int
    epochs: int
    learning_rate: float
    l2: float


#: adapt's tuning of PP-OCRv6's layer on corrections. Stronger tunings read more with PP-OCRv6
#: alone but not with all readers, and forget more: 16 copies at 2e-3 / 3e-4 (PP-OCRv6 alone on
#: cheque_amounts_large after the 128 cheque_amounts 86.5% -> 88.3%) gave 89.3% with all readers
#: (89.1% with these) and generated pages 91.7% (93.3%) (docs/experiments.md).
PPOCR_HEAD = HeadTuning(copies=4, epochs=20, learning_rate=1e-3, l2=1e-3)
#: A field's glyphs are taken as its label's digits where the glyph reader reads at most this many
#: of them otherwise (the style it is to learn); more is a segmentation that does not match the label.
MATCH_DISAGREEMENTS = 1


def corrected_crop(image: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    """The crop a corrected field is kept as (the web app's corrections download): its box as the
    record gives it (the digits read), with a margin, from the page as it was given; adapting on
    such crops teaches the string reader the fields as it reads them."""
    margin = int(CORRECTION_MARGIN * h)
    return image[max(0, y - margin): y + h + margin, max(0, x - margin): x + w + margin]


@dataclass
class Corrections:
    """Field crops (grey) a user corrected, with their digits and file names; ``skipped`` names
    the images that could not be read."""

    crops: list
    digits: list
    files: list
    skipped: list


def read_corrections(folders) -> Corrections:
    """Every labelled field in ``folders`` (folders or .zip files holding ``labels.csv`` with
    ``file,digits``, the format ``extractor evaluate --strings`` reads)."""
    from .pages import load_pages

    found = Corrections([], [], [], [])
    for folder in folders:
        with _opened(Path(folder)) as root:
            for name, digits in _labels(root, Path(folder)):
                try:
                    image = load_pages(root / name)[0].image
                except InputError:
                    found.skipped.append(f"{folder}/{name}")
                    continue
                found.crops.append(clean.grayscale(image))
                found.digits.append(digits)
                found.files.append(f"{folder}/{name}")
    if not found.crops:
        raise DataError("no field could be read from " + ", ".join(map(str, folders)))
    return found


@contextlib.contextmanager
def _opened(path: Path):
    """A folder as it is, or a .zip unpacked into a temporary folder for the time it is read."""
    if not (path.is_file() and zipfile.is_zipfile(path)):
        if not path.is_dir():
            raise DataError(f"{path}: not a folder or a .zip of field crops")
        yield path
        return
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(path) as archive:
        archive.extractall(tmp)
        inner = Path(tmp)
        subs = [p for p in inner.iterdir() if (p / "labels.csv").is_file()]
        yield subs[0] if not (inner / "labels.csv").is_file() and len(subs) == 1 else inner  # a zip of one folder


def _labels(root: Path, named: Path) -> list[tuple[str, str]]:
    """The (file, digits) rows of ``labels.csv``, each checked; a bad one is an error naming its line."""
    path = root / "labels.csv"
    where = named / "labels.csv" if named.is_dir() else f"{named}: labels.csv"
    if not path.is_file():
        raise DataError(f"{named}: no labels.csv (file,digits)")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {"file", "digits"} <= set(reader.fieldnames):
            raise DataError(f"{where}: needs the columns file,digits")
        rows = []
        for line, row in enumerate(reader, start=2):
            name, digits = (row["file"] or "").strip(), (row["digits"] or "").strip()
            if not (root / name).is_file() or not name:
                raise DataError(f"{where}, line {line}: no file {name!r} beside labels.csv")
            if not digits.isdigit() or not digits.isascii() or len(digits) > strings.MAX_DIGITS:
                raise DataError(f"{where}, line {line}: {digits!r} is not 1-{strings.MAX_DIGITS} digits")
            rows.append((name, digits))
    if not rows:
        raise DataError(f"{where}: no rows")
    return rows


def varied(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A corrected crop as the same writer might have produced it on another day: shifted in its
    field, scaled, slanted, the pen lighter or heavier, blurred, JPEG-compressed."""
    gray = np.asarray(gray, np.uint8)
    h, w = gray.shape
    paper = float(np.percentile(gray, 90))
    sx, sy = rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15)
    shear = rng.uniform(-0.2, 0.2)
    angle = np.deg2rad(rng.uniform(-2.5, 2.5))
    c, s = np.cos(angle), np.sin(angle)
    linear = np.array([[c, -s], [s, c]]) @ np.array([[sx, shear], [0.0, sy]])
    pad_x, pad_y = int(rng.uniform(0, 0.25) * h), int(rng.uniform(0, 0.15) * h)
    out_w, out_h = int(w * sx + abs(shear) * h) + 2 * pad_x, int(h * sy) + 2 * pad_y
    centre, target = np.array([w / 2, h / 2]), np.array([out_w / 2, out_h / 2]) + rng.uniform(-0.05, 0.05, 2) * h
    matrix = np.hstack([linear, (target - linear @ centre)[:, None]])
    out = cv2.warpAffine(gray, matrix, (max(out_w, 4), max(out_h, 4)), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=paper).astype(np.float32)
    dark = np.clip((paper - out) / max(paper, 1.0), 0, 1) ** rng.uniform(0.7, 1.4)  # the pen's weight
    out = paper - dark * paper * rng.uniform(0.75, 1.1)
    if rng.random() < 0.4:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.2))
    out = np.clip(out + rng.normal(0, rng.uniform(0, 6), out.shape), 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 90))])
        out = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return out


def _targets(digits: list[str]) -> np.ndarray:
    y = np.full((len(digits), strings.MAX_DIGITS), -1, np.int64)
    for i, text in enumerate(digits):
        y[i, : len(text)] = [int(ch) for ch in text]
    return y


def _inputs(crops) -> np.ndarray:
    return np.stack([strings.normalize_crop(c)[0] for c in crops])[..., None]


def _exact(model, crops, digits) -> float:
    """The string reader's exact share on crops (its best path alone)."""
    if not crops:
        return float("nan")
    probs = model.predict(_inputs(crops), verbose=0, batch_size=128)
    return float(np.mean([strings.decode(p).text == t for p, t in zip(probs, digits)]))


def split(count: int, seed: int, share: float = HELD_OUT_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out) of ``count`` corrections: with a ``share`` above 0, at least one
    held out and one trained on; with 0, none held out."""
    order = np.random.default_rng([seed, 17]).permutation(count)
    held = min(max(1, int(round(share * count))), count - 1) if count > 1 and share > 0 else 0
    return np.sort(order[held:]), np.sort(order[:held])


def user_fields_per_epoch(count: int, copies: int = COPIES_PER_EPOCH) -> int:
    """How many varied copies of ``count`` corrected crops one epoch trains on: ``copies`` of each,
    at least MIN_USER_PER_EPOCH and at most USER_PER_EPOCH_AT_MOST in all."""
    return min(max(MIN_USER_PER_EPOCH, copies * count), USER_PER_EPOCH_AT_MOST)


def fine_tuned(base_reader: Path, crops, digits, epochs: int, seed: int, mnist_split, held=((), ()),
               log=print, label: str = "", copies: int = COPIES_PER_EPOCH, frozen: tuple[str, ...] = ()):
    """A copy of the string reader at ``base_reader`` fine-tuned on ``crops`` (their ``digits``) for
    ``epochs`` epochs, each the user's crops varied and SYNTHETIC_PER_USER times as many synthetic
    fields (``copies`` varied copies of each crop an epoch), its layers named in ``frozen`` kept
    as they are; with ``held``
    (crops, digits), each epoch's held-out exact share is logged. Returns (model, exact share on
    ``held`` before, and after the last epoch)."""
    import tensorflow as tf

    from .train import ctc_loss, make_field_epoch

    model = tf.keras.models.load_model(base_reader, compile=False)
    for layer in model.layers:
        layer.trainable = layer.name not in frozen
    model.compile(optimizer=tf.keras.optimizers.Adam(LEARNING_RATE, clipnorm=5.0), loss=ctc_loss)
    held_crops, held_digits = list(held[0]), list(held[1])
    before = score = _exact(model, held_crops, held_digits)
    user_count = user_fields_per_epoch(len(crops), copies)

    def fields(epoch: int):
        """The epoch's fields, shuffled: the user's crops varied and synthetic ones, the same for a
        seed and epoch whenever they are made."""
        rng = np.random.default_rng([seed, epoch, 23])
        picks = rng.integers(len(crops), size=user_count)
        x_user = _inputs([varied(crops[i], rng) for i in picks])
        y_user = _targets([digits[i] for i in picks])
        x_synth, y_synth = make_field_epoch(mnist_split.images, mnist_split.labels,
                                            SYNTHETIC_PER_USER * user_count, seed, epoch)
        x, y = np.concatenate([x_user, x_synth]), np.concatenate([y_user, y_synth])
        order = rng.permutation(len(x))
        return x[order], y[order]

    # the next epoch's fields are made while this one trains (a third of an epoch's time on 2
    # cores); the same fields, so the same model
    with ThreadPoolExecutor(1) as maker:
        coming = maker.submit(fields, 1)
        for epoch in range(1, epochs + 1):
            tick = time.time()
            x, y = coming.result()
            if epoch < epochs:
                coming = maker.submit(fields, epoch + 1)
            model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
            if held_crops:
                score = _exact(model, held_crops, held_digits)
                log(f"{label}epoch {epoch}/{epochs}: held-out exact {score:.1%} {time.time() - tick:.0f}s")
            else:
                log(f"{label}epoch {epoch}/{epochs} {time.time() - tick:.0f}s")
    return model, before, score


def fine_tuned_ppocr_head(reader, crops, digits, seed: int, log=print, label: str = "",
                          tuning: HeadTuning = PPOCR_HEAD) -> tuple[np.ndarray, np.ndarray]:
    """PP-OCRv6's last layer over the characters it is read by (``reader``, a ppocr.PPOCRReader)
    tuned on ``crops`` (their ``digits``) as ``tuning`` says. Returns (weights, bias)."""
    features, texts = ppocr_examples(reader, crops, digits, seed, tuning.copies)
    return fitted_ppocr_head(reader, features, texts, seed, log, label, tuning)


def ppocr_examples(reader, crops, digits, seed: int, copies: int) -> tuple[list, list]:
    """What PP-OCRv6's last layer is tuned on: the features of each crop and of ``copies`` - 1
    varied copies (fewer where that would pass HEAD_ROWS_AT_MOST rows), worked out once by the
    graph (which stays as it is), and their digits."""
    rng = np.random.default_rng([seed, 31])
    copies = head_copies(len(crops), copies)
    features, texts = [], []
    for copy in range(copies):
        features += reader.features([c if copy == 0 else varied(c, rng) for c in crops])
        texts += list(digits)
    return features, texts


def head_copies(count: int, copies: int) -> int:
    """Copies of each of ``count`` crops PP-OCRv6's layer is tuned on: ``copies``, fewer where
    that would pass HEAD_ROWS_AT_MOST rows, at least the crop itself."""
    return max(1, min(copies, HEAD_ROWS_AT_MOST // max(count, 1)))


def fitted_ppocr_head(reader, features: list, texts: list, seed: int, log=print, label: str = "",
                      tuning: HeadTuning = PPOCR_HEAD) -> tuple[np.ndarray, np.ndarray]:
    """PP-OCRv6's last layer fitted by CTC over the folded classes on ``features`` (their digits
    ``texts``), from the graph's own weights and held near them (``tuning``'s epochs, learning
    rate and l2). Returns (weights, bias)."""
    import tensorflow as tf

    from .ctc import BLANK

    rng = np.random.default_rng([seed, 31, 1])
    start_w, start_b = tf.constant(reader.weights), tf.constant(reader.bias)
    weights, bias = tf.Variable(start_w), tf.Variable(start_b)
    groups = tf.constant(np.eye(BLANK + 1, dtype=np.float32)[reader.classes].T)  # (11, kept characters)
    optimizer = tf.keras.optimizers.Adam(tuning.learning_rate)
    for epoch in range(1, tuning.epochs + 1):
        tick = time.time()
        order = rng.permutation(len(features))
        for start in range(0, len(order), 32):
            picks = order[start: start + 32]
            steps = np.array([len(features[i]) for i in picks], np.int32)
            x = np.zeros((len(picks), steps.max(), features[0].shape[1]), np.float32)
            for k, i in enumerate(picks):
                x[k, : steps[k]] = features[i]
            labels = tf.ragged.constant([[int(ch) for ch in texts[i]] for i in picks], dtype=tf.int32).to_sparse()
            with tf.GradientTape() as tape:
                chances = tf.nn.softmax(tf.einsum("ntd,dk->ntk", x, weights) + bias, axis=-1)
                log_probs = tf.math.log(tf.einsum("ntk,gk->ntg", chances, groups) + 1e-9)
                loss = tf.reduce_mean(tf.nn.ctc_loss(labels, log_probs, None, steps, logits_time_major=False,
                                                     blank_index=BLANK))
                loss += tuning.l2 * (tf.reduce_sum((weights - start_w) ** 2) + tf.reduce_sum((bias - start_b) ** 2))
            optimizer.apply_gradients(zip(tape.gradient(loss, [weights, bias]), [weights, bias]))
        log(f"{label}PP-OCRv6 epoch {epoch}/{tuning.epochs} {time.time() - tick:.0f}s")
    return weights.numpy(), bias.numpy()


def save_ppocr_head(path: Path, reader, weights: np.ndarray, bias: np.ndarray) -> None:
    """A tuned last layer of PP-OCRv6 as a models folder's readers.PPOCR_HEAD_FILE, with the
    characters it is over (a reader with other ones refuses it)."""
    with open(path, "wb") as f:
        np.savez(f, weights=weights.astype(np.float32), bias=bias.astype(np.float32), kept=reader.kept)


def matched_digits(crops, digits, readers) -> list[np.ndarray | None]:
    """For each corrected crop, the digits the glyph reader (``readers``) finds in it as 28x28
    MNIST-style images, one per digit of its label; None where it finds another number of them
    (which glyph is which digit is then not known), or where it reads more than
    MATCH_DISAGREEMENTS of them as other digits than the label says: there the count agrees by
    chance (on the cheques, two zeros joined and the closing "/-" cut in two), and the glyphs are
    not the label's digits."""
    from .normalize import normalize_digit
    from .pipeline import field_digit_glyphs

    matches = []
    for crop, text in zip(crops, digits):
        glyphs = field_digit_glyphs(crop, readers)
        if len(glyphs) != len(text):
            matches.append(None)
            continue
        images = np.stack([np.round(normalize_digit(g.ink) * 255).astype(np.uint8) for g in glyphs])
        read = readers(images[..., None].astype(np.float32) / 255.0).argmax(axis=1)
        wrong = int(np.sum(read != np.asarray([int(ch) for ch in text])))
        matches.append(images if wrong <= MATCH_DISAGREEMENTS else None)
    return matches


def fine_tuned_digits(base_model: Path, images: np.ndarray, labels: np.ndarray, epochs: int, seed: int,
                      mnist_split, log=print, label: str = ""):
    """A copy of the digit model at ``base_model`` fine-tuned on the matched digits ``images``
    (their ``labels``) for ``epochs`` epochs, each their copies varied as the training varies MNIST
    and MNIST_PER_USER_DIGIT times as many MNIST digits with the training's clutter."""
    import tensorflow as tf

    from . import augment
    from .normalize import normalize_batch
    from .train import make_epoch

    model = tf.keras.models.load_model(base_model, compile=False)
    model.compile(optimizer=tf.keras.optimizers.Adam(DIGIT_LEARNING_RATE, clipnorm=5.0),
                  loss="sparse_categorical_crossentropy")
    count = min(DIGIT_COPIES_PER_EPOCH * len(images), DIGIT_COPIES_AT_MOST)
    for epoch in range(1, epochs + 1):
        tick = time.time()
        rng = np.random.default_rng([seed, epoch, 29])
        picks = rng.integers(len(images), size=count)
        x_user = normalize_batch([augment.vary_digit(images[i], rng, heavy=rng.random() < 0.5) for i in picks])
        some = rng.choice(len(mnist_split.images), size=MNIST_PER_USER_DIGIT * count, replace=False)
        x_mnist, y_mnist = make_epoch(mnist_split.images[some], mnist_split.labels[some], seed, epoch)
        x = np.concatenate([x_user, x_mnist])
        y = np.concatenate([labels[picks], y_mnist])
        order = rng.permutation(len(x))
        model.fit(x[order], y[order], batch_size=128, epochs=1, verbose=0, shuffle=False)
        log(f"{label}digits epoch {epoch}/{epochs} {time.time() - tick:.0f}s")
    return model


def adapt(folders, out, epochs: int = EPOCHS, seed: int = 1, data: str | None = None, base=MODELS_DIR,
          held_out_share: float = 0.0, log=print) -> dict:
    """Fine-tune the string reader of ``base`` (a models folder) on the corrections in ``folders``,
    its digit model on the digits the glyph reader matches to them (matched_digits) and
    PP-OCRv6's last layer (fine_tuned_ppocr_head), and write a complete models folder ``out`` with
    its card (adapted.json); return the card.

    With a ``held_out_share`` above 0, a first pass tunes on all but that share, to measure what
    adapting gains on fields it never saw (the card's ``held_out``), before the pass that tunes on
    every field, which is what is written. The epochs are fixed: choosing them on a held-out share
    of a few dozen fields was noise (docs/experiments.md)."""
    from . import mnist
    from .model import quiet_tensorflow
    from .readers import PPOCR_HEAD_FILE, Classifier
    from .train import run_facts

    started = time.time()
    base, out = Path(base), Path(out)
    for name in MODEL_FILES:
        if not (base / name).is_file():
            raise DataError(f"{base / name}: model file not found")
    found = read_corrections(folders)
    if found.skipped:
        log(f"{len(found.skipped)} images could not be read and were skipped")
    train_at, held_at = split(len(found.crops), seed, held_out_share)
    held = ([found.crops[i] for i in held_at], [found.digits[i] for i in held_at])
    mnist_split = mnist.load_split(mnist.find_data_dir(data), "train")
    tf = quiet_tensorflow()
    base_readers = Classifier.from_folder(base)
    matches = matched_digits(found.crops, found.digits, base_readers)

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        copy_models(base, partial)
        held_out = None
        if len(held_at):
            log(f"pass 1: tuning on {len(train_at)} fields, {len(held_at)} held out, to measure")
            before_score, after_score = _tuned_into(
                partial, base, base_readers, [found.crops[i] for i in train_at], [found.digits[i] for i in train_at],
                [matches[i] for i in train_at], epochs, seed, mnist_split, log, "pass 1 ", held)[:2]
            log(f"pass 1: held-out exact {before_score:.1%} -> {after_score:.1%}")
            held_out = {"measured_with": "pass 1's readers, tuned without these fields",
                        "string_reader_exact_before": round(before_score, 4),
                        "string_reader_exact_after": round(after_score, 4),
                        "fields_exact_before": round(_field_exact(base_readers, *held), 4),
                        "fields_exact_after": round(_field_exact(Classifier.from_folder(partial), *held), 4)}
            log(f"pass 1: held-out fields exact {held_out['fields_exact_before']:.1%} -> "
                f"{held_out['fields_exact_after']:.1%}")
        log(("pass 2: " if held_out else "") + f"tuning on all {len(found.crops)} fields")
        _, _, matched, head = _tuned_into(partial, base, base_readers, found.crops, found.digits, matches, epochs,
                                          seed, mnist_split, log, "pass 2 " if held_out else "")
        card = {
            "adapted": "strings.keras fine-tuned; digits.keras "
                       + ("fine-tuned on the matched digits" if matched[0] else "copied unchanged")
                       + ("; PP-OCRv6's last layer tuned (" + PPOCR_HEAD_FILE + ")" if head else "")
                       + "; pairs.keras copied unchanged",
            "base_models": {name: mnist.sha256_file(base / name) for name in MODEL_FILES},
            "data": {"sources": [str(f) for f in folders], "fields": len(found.crops),
                     "sha256": hashlib.sha256("".join(f"{f}\t{d}\n" for f, d in
                                                      zip(found.files, found.digits)).encode()
                                              + b"".join(_sha256_bytes(c) for c in found.crops)).hexdigest(),
                     "held_out": len(held_at), "skipped_unreadable": len(found.skipped)},
            "training": {"command": "extractor adapt", "seed": seed, "epochs": epochs,
                         "user_fields_per_epoch": user_fields_per_epoch(len(found.crops)),
                         "synthetic_fields_per_epoch": SYNTHETIC_PER_USER * user_fields_per_epoch(len(found.crops)),
                         "learning_rate": LEARNING_RATE,
                         "digits": {"matched_fields": matched[0], "matched_digits": matched[1],
                                    "copies_per_epoch": DIGIT_COPIES_PER_EPOCH,
                                    "copies_at_most": DIGIT_COPIES_AT_MOST,
                                    "mnist_per_copy": MNIST_PER_USER_DIGIT, "learning_rate": DIGIT_LEARNING_RATE,
                                    "match_disagreements_at_most": MATCH_DISAGREEMENTS},
                         "ppocr_head": {**asdict(PPOCR_HEAD),
                                        "copies_used": head_copies(len(found.crops), PPOCR_HEAD.copies)}
                                       if head else None,
                         **run_facts(started, tf), "optimizer": f"Adam {LEARNING_RATE:g}"},
            "held_out": held_out,
        }
        (partial / "adapted.json").write_text(json.dumps(card, indent=2) + "\n")
        replace_folder(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log(f"wrote {out} ({time.time() - started:.0f}s)")
    return card


def _tuned_into(folder: Path, base: Path, base_readers, crops, digits, matches, epochs: int, seed: int, mnist_split,
                log, label: str, held=((), ())):
    """Every reader of ``base`` that adapting tunes, tuned on ``crops`` and written into ``folder``:
    the string reader, the digit model (on ``matches``, where any) and PP-OCRv6's last layer (where
    installed). Returns (the string reader's exact share on ``held`` before and after, (fields,
    digits) matched, whether PP-OCRv6's layer was tuned)."""
    import tensorflow as tf

    from .readers import PPOCR_HEAD_FILE
    from .train import save_model

    tf.keras.utils.set_random_seed(seed)
    model, before, after = fine_tuned(base / "strings.keras", crops, digits, epochs, seed, mnist_split, held, log, label)
    save_model(model, folder / "strings.keras")
    digit_model, matched = _digits_tuned(base / "digits.keras", matches, digits, epochs, seed, mnist_split, log, label)
    if digit_model is not None:
        save_model(digit_model, folder / "digits.keras")
    else:
        shutil.copy2(base / "digits.keras", folder / "digits.keras")
    reader = base_readers.ppocr
    if reader is not None:
        save_ppocr_head(folder / PPOCR_HEAD_FILE, reader, *fine_tuned_ppocr_head(reader, crops, digits, seed, log, label))
    return before, after, matched, reader is not None


def _digits_tuned(base_model: Path, matches, digits, epochs: int, seed: int, mnist_split, log, label: str):
    """The digit model fine-tuned on the fields' matched digits (``matches``, from matched_digits;
    None where none matched), and (fields matched, digits matched)."""
    matched = [(images, text) for images, text in zip(matches, digits) if images is not None]
    labels = np.asarray([int(ch) for _, text in matched for ch in text], np.int64)
    log(f"{label}digits: {len(labels)} matched in {len(matched)} fields")
    if not matched:
        return None, (0, 0)
    images = np.concatenate([images for images, _ in matched])
    return (fine_tuned_digits(base_model, images, labels, epochs, seed, mnist_split, log, label),
            (len(matched), len(labels)))


def _field_exact(readers, crops, digits) -> float:
    """Share of crops read exactly as ``extract --layout field`` reads them."""
    from .pipeline import read_field_image

    if not crops:
        return float("nan")
    return float(np.mean([read_field_image(c, readers).text == t for c, t in zip(crops, digits)]))


def copy_models(base: Path, out: Path, leave: tuple[str, ...] = ()) -> None:
    """Every model of the models folder ``base`` (and the decision over the readers, and a tuned
    layer of PP-OCRv6, as it has them) copied into ``out`` with its card, but those named in
    ``leave``."""
    from .readers import DECISION_FILE, PPOCR_HEAD_FILE

    for name in MODEL_FILES + (DECISION_FILE, PPOCR_HEAD_FILE):
        for path in (base / name, (base / name).with_suffix(".json")):
            if path.is_file() and path.name not in leave:
                shutil.copy2(path, out / path.name)


def replace_folder(partial: Path, out: Path) -> None:
    """``partial`` renamed to ``out``; an older folder there is moved aside first, then removed."""
    if out.exists():
        if not (out / "adapted.json").is_file() and any(out.iterdir()):
            raise DataError(f"{out}: exists and is not a models folder written by extractor adapt")
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        partial.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        partial.rename(out)


def _sha256_bytes(array: np.ndarray) -> bytes:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).digest()
