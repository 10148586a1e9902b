"""Measuring the classifier: on the MNIST test set, on folders of digit crops, and on folders of
field crops (strings), with a confusion matrix and a picture of the worst mistakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from . import mnist
from .errors import DataError, InputError
from .model import predict
from .normalize import normalize_batch, normalize_gray_crop
from .pages import load_pages

REAL_DIR = Path("../shared/data/real")
REAL_DIGIT_SETS = {
    "usps_train": REAL_DIR / "digits" / "usps_train",
    "optdigits_train": REAL_DIR / "digits" / "optdigits_train",
}


@dataclass
class DigitScore:
    """Accuracy over ``n`` labelled digits, the 10x10 confusion matrix and the worst mistakes."""

    name: str
    n: int
    accuracy: float
    confusion: np.ndarray
    worst: list = field(default_factory=list)  # (confidence, label, read, 28x28 crop, file)

    def as_dict(self) -> dict:
        return {"set": self.name, "n": self.n, "accuracy": round(self.accuracy, 6),
                "confusion": self.confusion.tolist(),
                "worst": [{"file": f, "label": int(l), "read": int(r), "confidence": round(float(c), 4)}
                          for c, l, r, _, f in self.worst]}


def score_digits(name: str, model, batch: np.ndarray, labels: np.ndarray, files: list[str], worst: int = 50) -> DigitScore:
    """Read a normalized batch and score it against its labels."""
    read = predict(model, batch)
    labels = np.asarray(labels, int)
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, read.digits), 1)
    wrong = np.flatnonzero(read.digits != labels)
    wrong = wrong[np.argsort(-read.confidence[wrong])][:worst]
    mistakes = [(read.confidence[i], labels[i], read.digits[i], batch[i, :, :, 0], files[i]) for i in wrong]
    accuracy = float((read.digits == labels).mean()) if len(labels) else float("nan")
    return DigitScore(name, len(labels), accuracy, confusion, mistakes)


def evaluate_mnist(model, data: str | None = None) -> DigitScore:
    """Accuracy on the 10,000 MNIST test digits, each passed through normalize.py as extraction does."""
    test = mnist.load_split(mnist.find_data_dir(data), "test")
    batch = normalize_batch(list(test.images))
    return score_digits("mnist_test", model, batch, test.labels, [f"t10k[{i}]" for i in range(len(test.labels))])


def read_labels(folder: Path, column: str) -> pd.DataFrame:
    """``labels.csv`` of a folder, with the label column kept as text."""
    path = Path(folder) / "labels.csv"
    if not path.is_file():
        raise DataError(f"{folder}: no labels.csv (file,{column})")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "file" not in table.columns or column not in table.columns:
        raise DataError(f"{path}: needs the columns file,{column}")
    return table


def evaluate_digit_folder(model, folder: Path) -> DigitScore:
    """Accuracy on a folder of single-digit images with ``labels.csv`` (file,label), read exactly as
    ``extract --layout digit`` reads them."""
    table = read_labels(folder, "label")
    crops, labels, files = [], [], []
    for name, label in zip(table["file"], table["label"]):
        try:
            image = load_pages(Path(folder) / name, name)[0].image
        except InputError:
            image = np.full((28, 28), 255, np.uint8)  # unreadable counts as a miss, not a skip
        crops.append(normalize_gray_crop(image))
        labels.append(int(label))
        files.append(name)
    batch = np.stack(crops)[..., None] if crops else np.zeros((0, 28, 28, 1), np.float32)
    return score_digits(Path(folder).name, model, batch, np.array(labels), files)


def worst_image(score: DigitScore, path: Path, columns: int = 10) -> None:
    """Save the worst mistakes as one PNG: each crop with "label>read" above it."""
    if not score.worst:
        return
    tiles = []
    for confidence, label, read, crop, _ in score.worst:
        tile = np.full((44, 56), 255, np.uint8)
        tile[14:42, 14:42] = 255 - (crop * 255).astype(np.uint8)
        cv2.putText(tile, f"{label}>{read} {confidence:.2f}", (1, 10), cv2.FONT_HERSHEY_PLAIN, 0.7, 0, 1)
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.full((44, 56), 255, np.uint8))
    rows = [np.hstack(tiles[i: i + columns]) for i in range(0, len(tiles), columns)]
    cv2.imwrite(str(path), np.vstack(rows))


def digits_right(truth: str, read: str) -> int:
    """Digits of ``truth`` found in ``read`` in order (their longest common subsequence, as
    difflib aligns them): a dropped or extra digit costs one, not the rest of the string."""
    from difflib import SequenceMatcher

    return sum(b.size for b in SequenceMatcher(None, truth, read, autojunk=False).get_matching_blocks())


def evaluate_string_folder(folder, model: str | None = None, classify=None) -> dict:
    """Exact-string and per-digit accuracy on a folder of field crops with ``labels.csv``
    (file,digits), read exactly as ``extract --layout field`` reads them."""
    from .api import extract

    table = read_labels(Path(folder), "digits")
    frame = extract([Path(folder) / name for name in table["file"]], layout="field", model=model, classify=classify)
    read = dict(zip(frame["source"], frame["text"]))
    truth = [str(d) for d in table["digits"]]
    got = [read.get(str(Path(folder) / name), "") for name in table["file"]]
    exact = [t == g for t, g in zip(truth, got)]
    right = sum(digits_right(t, g) for t, g in zip(truth, got))
    total = sum(len(t) for t in truth)
    return {"set": Path(folder).name, "n": len(truth), "exact": float(np.mean(exact)) if truth else float("nan"),
            "digit_accuracy": right / total if total else float("nan"),
            "misses": [{"file": f, "truth": t, "read": g} for f, t, g, ok in zip(table["file"], truth, got, exact) if not ok]}


def count_found(wanted: list[str], read: list[str]) -> int:
    """How many wanted strings were read exactly, each string read counting once."""
    pool = list(read)
    found = 0
    for text in wanted:
        if text in pool:
            pool.remove(text)
            found += 1
    return found


def score_pages(frame, pages: dict) -> tuple[int, int, int, int]:
    """(strings exact, strings, digits right, digits) of generated pages: each truth field is matched
    to the read string whose box overlaps it most."""
    exact = strings = right = total = 0
    for name, page in pages.items():
        read = frame[frame["source"] == name]
        for t in page.truth:
            x, y, w, h = t.box
            best, best_overlap = "", 0
            for _, r in read.iterrows():
                ox = min(x + w, r["x"] + r["width"]) - max(x, r["x"])
                oy = min(y + h, r["y"] + r["height"]) - max(y, r["y"])
                if ox > 0 and oy > 0 and ox * oy > best_overlap:
                    best, best_overlap = r["text"], ox * oy
            strings += 1
            exact += best == t.text
            right += digits_right(t.text, best)
            total += len(t.text)
    return exact, strings, right, total


def compare_with_expected(results_path, expected_path) -> tuple[int, int, list[str]]:
    """(found, expected, misses) of an extraction's long CSV against expected strings (source, page,
    text): per page, how many expected strings were read exactly, each string read used once."""
    from collections import Counter

    from .records import read_csv

    results = read_csv(results_path)
    expected = read_csv(expected_path)
    found = total = 0
    misses = []
    for (source, page), want in expected.groupby(["source", "page"]):
        got = results[(results["source"] == source) & (results["page"] == page)]
        pool = Counter(got["text"])
        for text in want["text"]:
            total += 1
            if pool[text] > 0:
                pool[text] -= 1
                found += 1
            else:
                misses.append(f"{source} p{page}: expected {text}")
    return found, total, misses
