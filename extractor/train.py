"""Training the shipped classifier from MNIST, and writing its model card.

Each epoch sees every MNIST training digit once, a quarter as it is, the rest varied the way real
scans vary (augment.py), plus synthetic "not a digit" clutter; the next epoch's data is made in a
separate process while the current one trains. Batch normalization is folded into the convolutions
of the saved model, which makes it faster to run and keeps its outputs the same.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import json
import multiprocessing
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from . import augment, mnist
from .model import CLASSES, DEFAULT_MODEL, NOT_A_DIGIT, batchnorm_name, build_model, quiet_tensorflow
from .pairs import DEFAULT_PAIR_MODEL, NOT_A_PAIR, PAIR_CLASSES, build_pair_model, make_pair_epoch, normalize_pairs
from . import strings
from .strings import DEFAULT_STRING_MODEL, decode
from .normalize import normalize_batch

#: Share of "not a digit" crops added to each epoch, relative to the number of digits.
CLUTTER_SHARE = 0.1
PEAK_LEARNING_RATE = 2e-3
FINAL_LEARNING_RATE = 1e-5
#: The peak rate when training goes on from a trained model (train_composed's start_from).
FINE_TUNE_LEARNING_RATE = 3e-4
#: Digits from the style sources (fonts, pen-stroke model) added to each epoch of the digit
#: model, as a share of its MNIST digits (``extractor train --style-digits``). None by default: 0.2
#: for 6 epochs on from the shipped model cost 4 of 28 cts2010 dates (docs/experiments.md).
STYLE_DIGIT_SHARE = 0.0


def with_style_digits(images: np.ndarray, labels: np.ndarray, share: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits and ``share`` as many again from the style sources (synth.style_digit: the
    handwriting fonts and the pen-stroke model's allographs), in equal numbers of each digit."""
    from . import synth

    count = int(len(images) * share)
    if count == 0:
        return images, labels
    fonts = synth.find_fonts()
    extra_labels = np.arange(count) % 10
    extra = np.stack([synth.style_digit(int(d), rng, fonts) for d in extra_labels])
    return np.concatenate([images, extra]), np.concatenate([labels, extra_labels.astype(labels.dtype)])


def make_epoch(images: np.ndarray, labels: np.ndarray, seed: int, epoch: int,
               style_share: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The normalized crops and labels of one epoch, the same for the same seed and epoch; with
    ``style_share``, that share again of style digits (with_style_digits), varied as MNIST's are."""
    rng = np.random.default_rng([seed, epoch])
    images, labels = with_style_digits(images, labels, style_share, rng)
    inks, targets = [], []
    for image, label in zip(images, labels):
        r = rng.random()
        if r < augment.CLEAN:
            inks.append(image)
        else:
            neighbour = images[rng.integers(len(images))]
            inks.append(augment.vary_digit(image, rng, heavy=r >= augment.CLEAN + augment.LIGHT,
                                           neighbour=neighbour, label=int(label)))
        targets.append(int(label))
    for _ in range(int(len(images) * CLUTTER_SHARE)):
        inks.append(augment.clutter(rng, images))
        targets.append(NOT_A_DIGIT)
    order = rng.permutation(len(inks))
    x = normalize_batch([inks[i] for i in order])
    y = np.asarray(targets, np.int64)[order]
    return x, y


def learning_rate(epoch: int, epochs: int, peak: float = PEAK_LEARNING_RATE) -> float:
    """Cosine decay from the peak to the final rate over the run."""
    if epochs <= 1:
        return peak
    t = epoch / (epochs - 1)
    return FINAL_LEARNING_RATE + 0.5 * (peak - FINAL_LEARNING_RATE) * (1 + np.cos(np.pi * t))


def fold_batchnorm(trained, builder=build_model):
    """An inference copy of ``trained`` (built by ``builder``) with every batch normalization folded
    into the layer before it and dropout removed: same outputs, fewer operations."""
    folded = builder(folded=True)
    for layer in folded.layers:
        if not layer.weights:
            continue
        source = trained.get_layer(layer.name)
        try:
            norm = trained.get_layer(batchnorm_name(layer.name))
        except ValueError:  # no batch normalization after this layer
            layer.set_weights(source.get_weights())
            continue
        gamma, beta, mean, var = norm.get_weights()
        scale = gamma / np.sqrt(var + norm.epsilon)
        layer.set_weights([source.get_weights()[0] * scale, beta - mean * scale])
    return folded


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Share of crops whose digit (argmax over 0-9) equals the label."""
    from .model import predict

    return float((predict(model, x).digits == y).mean()) if len(y) else float("nan")


def prefetched_epochs(make, args: tuple, epochs: int):
    """Each epoch's (epoch, x, y), made by ``make(*args, epoch)`` in a process of its own one epoch
    ahead of training. The process starts here, before TensorFlow is imported, so it never
    inherits it; it is shut down when the epochs run out or the caller stops early."""
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    first = pool.submit(make, *args, 0)

    def epochs_made():
        future = first
        try:
            for epoch in range(epochs):
                x, y = future.result()
                if epoch + 1 < epochs:
                    future = pool.submit(make, *args, epoch + 1)
                yield epoch, x, y
        finally:
            pool.shutdown(cancel_futures=True)

    return epochs_made()


def fit_epochs(model, made, epochs: int, batch_size: int, log, report=lambda model: "",
               checkpoint: Path | None = None, peak: float = PEAK_LEARNING_RATE) -> None:
    """Train ``model`` (compiled) one epoch of ``made`` (prefetched_epochs) at a time, on the cosine
    learning-rate schedule, logging each epoch with what ``report`` adds; after each epoch the model
    as it stands is saved to ``checkpoint`` when given, to look at during a long run."""
    with contextlib.closing(made):
        tick = time.time()
        for epoch, x, y in made:
            model.optimizer.learning_rate.assign(learning_rate(epoch, epochs, peak))
            history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
            acc = history.history.get("accuracy")
            log(f"epoch {epoch + 1}/{epochs}  lr {learning_rate(epoch, epochs, peak):.2e}  "
                f"loss {history.history['loss'][-1]:.4f}  " + (f"train acc {acc[-1]:.4f}  " if acc else "")
                + f"{report(model)}{time.time() - tick:.0f}s")
            if checkpoint is not None:
                save_model(model, checkpoint)
            tick = time.time()


def save_model(model, out: Path) -> None:
    """Write ``model`` to ``out`` whole: saved beside it, then renamed into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.keras")
    model.save(tmp)
    tmp.replace(out)


def started_from_facts(start_from: str | Path) -> dict:
    """What a card says of the saved model a training run went on from: its file, hash and the
    training its own card describes."""
    base_card = Path(start_from).with_suffix(".json")
    return {"model": str(start_from), "sha256": mnist.sha256_file(start_from),
            **({"card": json.loads(base_card.read_text())["training"]} if base_card.is_file() else {})}


def card_facts(folded, out: Path, folder: Path, train_images: int, test_images: int) -> dict:
    """What every model card says of the saved model and the data it learned from."""
    return {"model": out.name, "architecture": architecture_summary(folded),
            "parameters": int(folded.count_params()), "size_bytes": out.stat().st_size,
            "data": {"folder": str(folder), "sha256": mnist.data_hashes(folder),
                     "train_images": int(train_images), "test_images": int(test_images)}}


def run_facts(started: float, tf, peak: float = PEAK_LEARNING_RATE) -> dict:
    """What every model card says of the training run: optimizer, time, machine and versions."""
    return {"optimizer": f"Adam, cosine decay {peak:g} -> {FINAL_LEARNING_RATE:g}",
            "seconds": round(time.time() - started, 1),
            "machine": f"{platform.machine()}, {multiprocessing.cpu_count()} cores, {platform.system()}",
            "python": sys.version.split()[0], "tensorflow": tf.__version__,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def train(
    data: str | None = None,
    epochs: int = 40,
    seed: int = 1,
    out: str | Path = DEFAULT_MODEL,
    limit: int | None = None,
    batch_size: int = 128,
    command: str = "",
    log=print,
    start_from: str | Path | None = None,
    style_share: float = STYLE_DIGIT_SHARE,
) -> dict:
    """Train the classifier, save it with its model card, and return the card. With
    ``start_from`` (a saved digit model), training goes on from its weights at a lower rate."""
    started = time.time()
    folder = mnist.find_data_dir(data)
    train_split = mnist.load_split(folder, "train")
    test_split = mnist.load_split(folder, "test")
    images, labels = train_split.images, train_split.labels
    if limit:
        pick = np.random.default_rng(seed).permutation(len(images))[:limit]
        images, labels = images[pick], labels[pick]

    made = prefetched_epochs(functools.partial(make_epoch, style_share=style_share), (images, labels, seed), epochs)

    tf = quiet_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model, peak, started_from = build_model(), PEAK_LEARNING_RATE, None
    if start_from:
        model, peak = tf.keras.models.load_model(start_from, compile=False), FINE_TUNE_LEARNING_RATE
        started_from = started_from_facts(start_from)
    model.compile(optimizer=tf.keras.optimizers.Adam(peak), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    test_x = normalize_batch(list(test_split.images))
    test_y = test_split.labels.astype(np.int64)
    fit_epochs(model, made, epochs, batch_size, log,
               report=lambda model: f"MNIST test acc {accuracy(model, test_x, test_y):.4f}  ", peak=peak)

    folded = fold_batchnorm(model)
    out = Path(out)
    save_model(folded, out)
    test_accuracy = accuracy(folded, test_x, test_y)
    card = {
        **card_facts(folded, out, folder, len(images), len(test_y)),
        "task": "handwritten digit 0-9, plus class 10 'not a digit', on MNIST-normalized 28x28 crops",
        "classes": CLASSES,
        "training": {
            "command": command or "extractor train",
            "seed": seed, "epochs": epochs, "batch_size": batch_size,
            "augmentation": "per epoch: 25% clean, 35% light affine, 40% heavy (affine, elastic, stroke "
                            "thickness, resolution loss, blur, gamma, binarization, noise); "
                            f"{CLUTTER_SHARE:.0%} synthetic not-a-digit clutter",
            "style_digits": {"share": style_share,
                             "what": "per epoch, digits from the handwriting fonts and the pen-stroke model "
                                     "(extractor/synth.py, half each), varied as MNIST's are",
                             **({"sources": string_reader_sources()} if style_share else {})},
            **({"started_from": started_from} if started_from else {}),
            **run_facts(started, tf, peak),
        },
        "mnist_test_accuracy": round(test_accuracy, 6),
        "real_digit_accuracy": {},
    }
    from .evaluate import REAL_DIGIT_SETS, evaluate_digit_folder

    for name, path in REAL_DIGIT_SETS.items():
        if (path / "labels.csv").is_file():
            card["real_digit_accuracy"][name] = round(evaluate_digit_folder(folded, path).accuracy, 6)
    return write_card(out, card, log, f"MNIST test accuracy {test_accuracy:.4%}")


def architecture_summary(model) -> list[str]:
    """One line per layer with weights, for the model card."""
    lines = []
    for layer in model.layers:
        if layer.weights:
            config = layer.get_config()
            detail = (f"{config['filters']} x {config['kernel_size']} stride {config['strides']}"
                      if "filters" in config else f"{config['units']} units")
            lines.append(f"{layer.__class__.__name__} {detail} {config.get('activation', '')}".strip())
    return lines


#: Training glyphs made for each epoch of the pair model, and the test pairs it is scored on.
PAIR_EPOCH_SIZE = 100_000
PAIR_TEST_SIZE = 10_000


def pair_scores(model, images: np.ndarray, labels: np.ndarray, seed: int = 0, size: int | None = None) -> dict:
    """The pair model on MNIST *test* digits: the share of composed two-digit glyphs read exactly,
    and the share of single test digits wrongly read as two (with a pair probability over 0.5)."""
    from .model import probabilities

    x, y = make_pair_epoch(images, labels, size or PAIR_TEST_SIZE, seed, epoch=0)
    probs = probabilities(model, x)
    two = y != NOT_A_PAIR
    singles = probabilities(model, normalize_pairs(list(images[: size or len(images)])))
    return {"pairs_exact": float((probs[two].argmax(axis=1) == y[two]).mean()),
            "not_two_right": float((probs[~two].argmax(axis=1) == NOT_A_PAIR).mean()),
            "single_digits_read_as_pairs": float((singles[:, NOT_A_PAIR] < 0.5).mean())}


def fold_and_save(trained, builder, out: Path):
    """The inference form of a trained model (fold_batchnorm), saved to ``out``."""
    folded = fold_batchnorm(trained, builder)
    save_model(folded, out)
    return folded


def composed_training(data: str | None, make, epoch_size: int, seed: int, epochs: int):
    """What a model trained on data composed from MNIST training digits starts from (the pair model,
    the string reader): the data folder, the training images, the test split, the epochs made by
    ``make(images, labels, epoch_size, seed, epoch)`` one ahead (prefetched_epochs), and TensorFlow
    seeded."""
    folder = mnist.find_data_dir(data)
    train_split = mnist.load_split(folder, "train")
    test_split = mnist.load_split(folder, "test")
    made = prefetched_epochs(make, (train_split.images, train_split.labels, epoch_size, seed), epochs)
    tf = quiet_tensorflow()
    tf.keras.utils.set_random_seed(seed)
    return folder, train_split.images, test_split, made, tf


@dataclass(frozen=True)
class Composed:
    """What differs between the models trained on data composed from MNIST training digits: how
    each is built, fed, compiled, scored and described on its card."""

    flag: str                    # the ``extractor train`` flag that trains it
    default_out: Path
    build: Callable              # (folded=False) -> uncompiled Keras model
    make_epoch: Callable         # (images, labels, size, seed, epoch) -> (x, y)
    compile: Callable            # (tf) -> keyword arguments of model.compile
    scores: Callable             # (model, test images, test labels, size=None) -> {name: share}
    logged: tuple[str, ...]      # the scores said when the model is saved
    epoch_size: int
    per_epoch: str               # the card's name for the items of an epoch
    batch_size: int
    task: str
    classes: int
    facts: dict                  # the card's facts of the training data (and loss)
    report: Callable | None = None  # (model, test split, size=None) -> text logged after each epoch
    sources: Callable | None = None  # () -> the card's account of the training data's sources


def train_composed(what: Composed, data: str | None = None, epochs: int = 8, seed: int = 1,
                   out: str | Path | None = None, epoch_size: int | None = None, command: str = "",
                   log=print, start_from: str | Path | None = None) -> dict:
    """Train the pair model or the string reader (``what``) on data composed from MNIST training
    digits, save it with its model card, and return the card. With ``start_from`` (a saved model of
    the same kind), training goes on from its weights at a lower rate (FINE_TUNE_LEARNING_RATE): how
    a model learns what its data newly shows without the hours of training it from nothing."""
    started = time.time()
    out = Path(out) if out else what.default_out
    epoch_size = epoch_size or what.epoch_size
    folder, images, test_split, made, tf = composed_training(data, what.make_epoch, epoch_size, seed, epochs)
    peak = PEAK_LEARNING_RATE
    if start_from:
        model, peak = tf.keras.models.load_model(start_from, compile=False), FINE_TUNE_LEARNING_RATE
        started_from = started_from_facts(start_from)
    else:
        model = what.build()
    model.compile(**what.compile(tf))
    checkpoint = out.with_name(out.stem + ".checkpoint.keras")
    # a run on a few hundred items (--limit, a quick check) is scored on a few hundred test items too
    test_size = QUICK_TEST_SIZE if epoch_size <= QUICK_TEST_SIZE else None
    fit_epochs(model, made, epochs, what.batch_size, log,
               **({"report": lambda model: what.report(model, test_split, test_size)} if what.report else {}),
               checkpoint=checkpoint, peak=peak)

    folded = fold_and_save(model, what.build, out)
    checkpoint.unlink(missing_ok=True)
    scores = what.scores(folded, test_split.images, test_split.labels, size=test_size)
    card = {
        **card_facts(folded, out, folder, len(images), len(test_split.labels)),
        "task": what.task,
        "classes": what.classes,
        "training": {
            "command": command or f"extractor train {what.flag}",
            "seed": seed, "epochs": epochs, what.per_epoch: epoch_size, "batch_size": what.batch_size,
            **what.facts,
            **({"scored_on_test_items": test_size} if test_size else {}),
            **({"sources": what.sources()} if what.sources else {}),
            **({"started_from": started_from} if start_from else {}),
            **run_facts(started, tf, peak),
        },
        "mnist_test": {k: round(v, 6) for k, v in scores.items()},
    }
    return write_card(out, card, log, "MNIST test " + ", ".join(
        f"{name.replace('_', ' ')} {scores[name]:.2%}" for name in what.logged))


def write_card(out: Path, card: dict, log, result: str) -> dict:
    """Write a saved model's ``card`` beside it (``out`` with .json), say so with ``result``, and
    return the card."""
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    log(f"saved {out} ({card['size_bytes'] / 1e6:.2f} MB, {card['parameters']:,} parameters); {result}")
    return card


PAIR_MODEL = Composed(
    flag="--pairs", default_out=DEFAULT_PAIR_MODEL, build=build_pair_model, make_epoch=make_pair_epoch,
    compile=lambda tf: {"optimizer": tf.keras.optimizers.Adam(PEAK_LEARNING_RATE),
                        "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
    scores=pair_scores, logged=("pairs_exact", "single_digits_read_as_pairs"),
    epoch_size=PAIR_EPOCH_SIZE, per_epoch="glyphs_per_epoch", batch_size=128,
    task="two handwritten digits written as one glyph: classes 0-99 read 'ab' as 10a+b, class 100 "
         "'not two digits' (one digit, or three); glyphs fitted into 20x52 in 28x56 crops",
    classes=PAIR_CLASSES,
    facts={"data_made": "per epoch, from MNIST training digits: 70% two digits written together (each "
                        "0.85-1.15 of the height, overlapping by up to a quarter of the height or a hair "
                        "apart, baselines +-8%), 25% one digit (widened or narrowed, some with a ligature "
                        "tail), 5% three together; then slant, rotation, stroke thickness, blur, binarization"},
)

#: A training run of at most this many items an epoch (``--limit``, a quick check) is scored on
#: this many test items, not on the full test sets.
QUICK_TEST_SIZE = 500
#: Synthetic fields made for each epoch of the string reader, and the test fields it is scored on.
FIELD_EPOCH_SIZE = 40_000
FIELD_TEST_SIZE = 3_000


def field_scores(model, images: np.ndarray, labels: np.ndarray, size: int | None = None, seed: int = 0) -> dict:
    """The string reader on synthetic fields whose MNIST digits come from the *test* set: the share
    read exactly, and the share of their digits read right."""
    from .evaluate import digits_right
    from .model import probabilities

    x, y = make_field_epoch(images, labels, size or FIELD_TEST_SIZE, seed, epoch=10_000)
    probs = probabilities(model, x)
    truth = ["".join(str(int(v)) for v in row if v >= 0) for row in y]
    read = [decode(p).text for p in probs]
    return {"fields_exact": float(np.mean([r == t for r, t in zip(read, truth)])),
            "digits_right": sum(digits_right(t, r) for t, r in zip(truth, read)) / sum(len(t) for t in truth)}


def string_reader_sources() -> dict:
    """The model card's account of where the string reader's training digits come from."""
    from . import synth

    fonts = synth.find_fonts()
    shares = dict(synth.SOURCE_SHARES)
    if not fonts:
        shares["pen"] += shares.pop("font")
    faces: dict[str, dict] = {}
    for font in fonts:
        entry = faces.setdefault(font.source, {"licence": font.licence, "files": []})
        entry["files"].append(Path(font.path).name)
    return {"shares": shares,
            "mnist": "MNIST training digits (Yann LeCun, Corinna Cortes, Christopher Burges; CC BY-SA 3.0)",
            "fonts": faces, "font_files": len(fonts), "font_families": len(faces),
            "printed_signs": {"share": synth.PRINTED_SIGN_SHARE, "signs": synth.PRINTED_SIGNS,
                              "faces": [Path(p).name for p in synth.printed_faces()],
                              "source": "Debian fonts-dejavu-core (Bitstream Vera licence, public-domain "
                                        "changes); OpenCV's Hershey face without it"},
            "printed_boxes": {"share": synth.PRINTED_BOX_SHARE,
                              "what": "the whole printed box about the writing, as a template cuts an amount: "
                                      "its walls, the sign inside it, the form's printed words (DejaVu) cut by "
                                      "the crop's edge, the handwritten words above (the handwriting fonts)"},
            "pen": {"allographs": {d: list(names) for d, names in synth.ALLOGRAPHS.items()}}}


# The string reader's training: its synthetic fields, its network and its loss (reading never loads them).

def make_field_epoch(images: np.ndarray, labels: np.ndarray, size: int, seed: int,
                     epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """``size`` synthetic grey fields (synth.py; MNIST digits from ``images``) as the string
    reader's input, and their digits (padded with -1), the same for a seed and epoch."""
    from . import synth

    rng = np.random.default_rng([seed, epoch, 5])
    fonts = synth.find_fonts()
    source = synth.mnist_by_label(images, labels)
    x = np.zeros((size, strings.CROP_HEIGHT, strings.CROP_WIDTH, 1), np.float32)
    y = np.full((size, strings.MAX_DIGITS), -1, np.int64)
    for i in range(size):
        image, digits = synth.training_field(rng, fonts, source)
        x[i, :, :, 0] = strings.normalize_crop(image)[0]
        y[i, : len(digits)] = [int(ch) for ch in digits]
    return x, y


def build_string_reader(folded: bool = False, dropout: float = 0.2):
    """The string reader, uncompiled: (n, CROP_HEIGHT, CROP_WIDTH, 1) darkness to (n, CROP_STEPS,
    CLASSES) softmax, one step per STEP columns: five convolutions over the crop, then three
    convolutions along the line (the widest sees about four digits either side), so that each step
    is read in the context of its neighbours, as a recurrent layer would, at a fraction of the
    cost on a CPU."""
    from .model import layer_makers

    tf = quiet_tensorflow()
    layers, block, conv, drop = layer_makers(folded, dropout)
    inputs = tf.keras.Input((strings.CROP_HEIGHT, strings.CROP_WIDTH, 1), name="crop")
    x = conv(inputs, "conv1", 16, padding="same")                        # 32 x 192
    x = layers.MaxPooling2D(2)(x)                                        # 16 x 96
    x = conv(x, "conv2", 48, padding="same")
    x = layers.MaxPooling2D(2)(x)                                        # 8 x 48
    x = conv(x, "conv3", 96, padding="same")
    x = conv(x, "conv4", 96, padding="same")
    x = layers.MaxPooling2D((2, 1))(x)                                   # 4 x 48
    x = conv(x, "conv5", 128, padding="same")
    x = layers.Permute((2, 1, 3))(x)                                     # 48 steps x 4 rows x 128
    x = layers.Reshape((strings.CROP_STEPS, 4 * 128))(x)
    x = drop(block(x, "dense", lambda n, **kw: layers.Dense(192, name=n, **kw)))
    x = block(x, "context1", lambda n, **kw: layers.Conv1D(192, 5, padding="same", name=n, **kw))
    x = block(x, "context2", lambda n, **kw: layers.Conv1D(192, 5, padding="same", dilation_rate=2, name=n, **kw))
    x = drop(block(x, "context3", lambda n, **kw: layers.Conv1D(192, 3, padding="same", dilation_rate=4, name=n,
                                                                  **kw)))
    outputs = layers.Dense(strings.CLASSES, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs, outputs, name="string_reader")


def ctc_loss(targets, probs):
    """The CTC loss of each field of a batch (Keras weighs and averages them): ``targets``
    (n, MAX_DIGITS) digits padded with -1, ``probs`` (n, CROP_STEPS, CLASSES) softmax outputs with
    the blank last."""
    import tensorflow as tf

    targets = tf.cast(targets, tf.int32)
    label_length = tf.reduce_sum(tf.cast(targets >= 0, tf.int32), axis=1)
    logits = tf.math.log(tf.clip_by_value(probs, 1e-8, 1.0))
    steps = tf.fill([tf.shape(probs)[0]], tf.shape(probs)[1])
    loss = tf.nn.ctc_loss(tf.maximum(targets, 0), logits, label_length, steps, logits_time_major=False,
                          blank_index=strings.BLANK)
    return loss


STRING_READER = Composed(
    flag="--strings", default_out=DEFAULT_STRING_MODEL, build=build_string_reader, make_epoch=make_field_epoch,
    compile=lambda tf: {"optimizer": tf.keras.optimizers.Adam(PEAK_LEARNING_RATE, clipnorm=5.0), "loss": ctc_loss},
    scores=field_scores,
    logged=("fields_exact", "digits_right"),
    epoch_size=FIELD_EPOCH_SIZE, per_epoch="fields_per_epoch", batch_size=64,
    task="a field's grey crop holding 1-12 handwritten digits with separators, read at once: 32x192 "
         "darkness crops to 48 steps of 11 classes (digits 0-9, then the CTC blank)",
    classes=11,
    facts={"loss": "CTC",
           "data_made": "per epoch, synthetic grey fields (extractor/synth.py): one writer per field, its "
                        "digits from MNIST training digits, a handwriting font, or the pen-stroke model's "
                        "allographs; amounts and dates with separators, Indian grouping, '/-', '=', small "
                        "raised or chained trailing zeros, joined or apart, a wandering baseline; paper "
                        "plain, tinted, graded, guilloche, tiled print, textured, rules, box walls, printed "
                        "currency signs (the rupee sign most) before the writing, beside or behind a box "
                        "wall, some cut by the crop's edge; whole printed boxes with the form's words "
                        "beside and the words written above; pens from pencil to marker, fading; blur, resolution 28-80 px, noise, JPEG"},
    report=lambda model, test, size=None: "fields exact {fields_exact:.4f}  ".format(
        **field_scores(model, test.images, test.labels, size=min(1000, size or 1000))),
    sources=string_reader_sources,
)
