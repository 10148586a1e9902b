"""extractor adapt: the string reader fine-tuned on a user's corrected fields, into a models folder
of its own that extract reads with."""

import hashlib
import json
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from extractor import adapt, generate
from extractor.errors import DataError
from extractor.model import MODELS_DIR
from extractor.readers import Classifier


def _fields(folder, count: int, seed: int):
    """``count`` pen-model field crops of 3-7 digits with labels.csv, as a user's corrections."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    draw = generate.stroke_digit_source()
    rows = []
    for i in range(count):
        text = generate.random_digits(rng, 3, 7)
        strip = np.full((90, 46 * len(text) + 40), 255, np.uint8)
        generate.write_string(strip, text, 20, 70, 48, draw, rng)
        cv2.imwrite(str(folder / f"f{i}.png"), generate.scan(strip, rng, skew=0.5))
        rows.append((f"f{i}.png", text))
    pd.DataFrame(rows, columns=["file", "digits"]).to_csv(folder / "labels.csv", index=False)
    return rows


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_tiny_adapt_writes_a_whole_models_folder_that_reads_no_worse(tmp_path, mnist_dir):
    _fields(tmp_path / "mine", 12, seed=3)
    (tmp_path / "mine" / "broken.png").write_bytes(b"not an image")
    with open(tmp_path / "mine" / "labels.csv", "a") as f:
        f.write("broken.png,123\n")
    lines = []
    card = adapt.adapt([tmp_path / "mine"], tmp_path / "models", epochs=1, data=str(mnist_dir), log=lines.append)
    out = tmp_path / "models"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["adapted.json", "decision.json", "digits.json", "digits.keras", "pairs.json", "pairs.keras", "strings.json",
         "strings.keras", "ppocr_head.npz"])
    assert (out / "decision.json").read_bytes() == (MODELS_DIR / "decision.json").read_bytes()
    assert _digest(out / "strings.keras") != _digest(MODELS_DIR / "strings.keras")
    assert _digest(out / "pairs.keras") == _digest(MODELS_DIR / "pairs.keras")
    matched = card["training"]["digits"]
    assert 0 < matched["matched_fields"] <= 12 and matched["matched_digits"] >= matched["matched_fields"]
    assert _digest(out / "digits.keras") != _digest(MODELS_DIR / "digits.keras")  # taught the matched digits
    assert card == json.loads((out / "adapted.json").read_text())
    assert card["data"]["fields"] == 12 and card["data"]["skipped_unreadable"] == 1
    # one pass, on every field: measuring on held-out fields is asked for with --holdout
    assert card["data"]["held_out"] == 0 and card["held_out"] is None and card["training"]["epochs"] == 1
    for said in ("epoch 1/1", "digits epoch 1/1", "PP-OCRv6 epoch 1/"):
        assert any(line.startswith(said) for line in lines), said
    assert not [line for line in lines if line.startswith("pass 1")]
    tuned = np.load(out / "ppocr_head.npz")
    assert not np.array_equal(tuned["weights"], Classifier().ppocr.weights)  # PP-OCRv6's last layer learned too
    assert Classifier.load(out).ppocr.weights.tobytes() == tuned["weights"].tobytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".models")]  # no half-written folder left
    assert Classifier.load(out).strings is not None

    read = subprocess.run([sys.executable, "-m", "extractor.cli", "extract", str(tmp_path / "mine"), "--layout",
                           "field", "--models", str(out), "-o", str(tmp_path / "read.csv"), "--workers", "1"],
                          capture_output=True, text=True)
    assert read.returncode == 1, read.stderr  # the broken image is an error row; the rest is read
    table = pd.read_csv(tmp_path / "read.csv", dtype=str, keep_default_na=False)
    assert len(table) == 13 and (table["error"] != "").sum() == 1


def test_glyphs_are_matched_to_a_label_only_where_they_read_as_its_digits(tmp_path):
    rows = _fields(tmp_path / "mine", 8, seed=5)
    crops = [cv2.imread(str(tmp_path / "mine" / name), cv2.IMREAD_GRAYSCALE) for name, _ in rows]
    right = [text for _, text in rows]
    shifted = ["".join(str((int(ch) + 5) % 10) for ch in text) for text in right]  # same length, other digits
    readers = Classifier()
    matched = adapt.matched_digits(crops, right, readers)
    assert sum(m is not None for m in matched) >= 4
    assert all(m.shape == (len(text), 28, 28) for m, text in zip(matched, right) if m is not None)
    assert all(m is None for m in adapt.matched_digits(crops, shifted, readers))


@pytest.mark.parametrize("labels, message", [
    (None, "no labels.csv"),
    ("file,digits\n", "labels.csv: no rows"),
    ("file,digits\nf0.png,123\nmissing.png,45\n", "line 3: no file 'missing.png'"),
    ("file,digits\nf0.png,12a\n", "line 2: '12a' is not 1-12 digits"),
    ("name,text\nf0.png,1\n", "needs the columns file,digits"),
])
def test_bad_corrections_are_one_line_errors_naming_the_file_and_line(tmp_path, labels, message):
    folder = tmp_path / "mine"
    _fields(folder, 1, seed=4)
    (folder / "labels.csv").unlink()
    if labels is not None:
        (folder / "labels.csv").write_text(labels)
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        adapt.read_corrections([folder])


def test_held_out_share_is_disjoint_and_never_empty():
    train, held = adapt.split(128, seed=1)
    assert len(held) == 32 and not set(train) & set(held) and len(train) + len(held) == 128
    assert [len(part) for part in adapt.split(2, seed=1)] == [1, 1]
