import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from extractor.records import LONG_COLUMNS, read_csv

from conftest import ROOT
from test_pages import encrypted_pdf, huge_png_header


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "extractor.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory, mnist_test):
    """MNIST test digits saved as scan-like crops: dark ink on light paper, various sizes and formats."""
    folder = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(7)
    for i in range(200):
        ink = mnist_test.images[i].astype(np.float32)
        size = int(rng.integers(28, 120))
        crop = 235 - np.asarray(Image.fromarray(ink).resize((size, size), Image.BILINEAR)) * 0.8
        suffix = [".png", ".jpg", ".bmp"][i % 3]
        Image.fromarray(crop.clip(0, 255).astype(np.uint8)).save(folder / f"d{i:03d}{suffix}")
    labels = pd.DataFrame({"file": [f"d{i:03d}{['.png', '.jpg', '.bmp'][i % 3]}" for i in range(200)],
                           "label": mnist_test.labels[:200]})
    labels.to_csv(folder / "labels.csv", index=False)
    return folder


def test_digit_layout_reads_digit_crops_into_the_long_csv(digit_folder, mnist_test, tmp_path):
    out = tmp_path / "out.csv"
    run = run_cli("extract", digit_folder, "--layout", "digit", "-o", out)
    assert run.returncode == 0, run.stderr[-2000:]
    table = read_csv(out)
    assert list(table.columns) == LONG_COLUMNS
    assert len(table) == 200 and (table["error"] == "").all()
    truth = {f"d{i:03d}{['.png', '.jpg', '.bmp'][i % 3]}": str(mnist_test.labels[i]) for i in range(200)}
    right = np.mean([truth[s] == t for s, t in zip(table["source"], table["text"])])
    assert right >= 0.97
    assert table["confidence"].between(0, 1).all()
    assert "200 files" in run.stderr


def test_bad_inputs_each_get_an_error_row_and_the_batch_goes_on(digit_folder, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name in ["d000.png", "d001.jpg"]:
        (folder / name).write_bytes((digit_folder / name).read_bytes())
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.png").write_text("this is text, not an image\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    (folder / "cut.jpg").write_bytes((digit_folder / "d001.jpg").read_bytes()[:40])
    Image.new("L", (1, 1)).save(folder / "dot.png")
    (folder / "dir.png").mkdir()
    (folder / "bad\udcffname.png").write_bytes(b"\x00\x01")
    (folder / "locked.pdf").write_bytes(encrypted_pdf())
    (folder / "huge.png").write_bytes(huge_png_header(20000, 10000))
    os.symlink(folder, folder / "loop")
    deep = np.asarray(Image.open(digit_folder / "d000.png"), np.uint16) * 257
    Image.fromarray(deep).save(folder / "deep.png")                       # 16-bit grey
    Image.open(digit_folder / "d003.png").convert("RGBA").save(folder / "alpha.png")
    Image.new("L", (400, 300), 255).save(folder / "blank.png")            # nothing written
    out = tmp_path / "out.csv"
    run = run_cli("extract", folder, "--layout", "digit", "-o", out, "--xlsx", tmp_path / "out.xlsx")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    table = read_csv(out)
    assert len(table) == 13  # every input, once
    errors = table[table["error"] != ""]
    assert len(errors) == 8
    assert all("\n" not in e for e in errors["error"])
    read = dict(zip(table["source"], table["text"]))
    assert read["deep.png"] != "" and read["alpha.png"] != "" and read["d000.png"] != ""
    assert "encrypted" in table.set_index("source").loc["locked.pdf", "error"]
    assert "megapixels" in table.set_index("source").loc["huge.png", "error"]
    xlsx = pd.read_excel(tmp_path / "out.xlsx", dtype=str)
    assert len(xlsx) == 13


def test_leading_zeros_survive_csv_and_xlsx(tmp_path):
    from extractor.records import long_frame, write_csv, write_xlsx

    frame = long_frame([{"source": "a.png", "page": 1, "field": "box_1", "text": "007", "confidence": 0.9,
                         "needs_review": False, "x": 1, "y": 2, "width": 3, "height": 4, "error": ""}])
    write_csv(frame, tmp_path / "t.csv")
    write_xlsx(frame, tmp_path / "t.xlsx")
    assert read_csv(tmp_path / "t.csv")["text"][0] == "007"
    assert pd.read_excel(tmp_path / "t.xlsx", dtype=str)["text"][0] == "007"


def test_bad_arguments_exit_2(tmp_path):
    run = run_cli("extract", tmp_path, "--layout", "diagonal", "-o", tmp_path / "x.csv")
    assert run.returncode == 2


def test_evaluate_scores_a_labelled_folder_with_confusion_and_worst_mistakes(digit_folder, tmp_path):
    import json

    run = run_cli("evaluate", "--digits", digit_folder, "--worst", tmp_path / "worst.png", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result["n"] == 200 and result["accuracy"] >= 0.97
    confusion = np.array(result["confusion"])
    assert confusion.sum() == 200 and np.trace(confusion) == round(result["accuracy"] * 200)
    if result["accuracy"] < 1:
        assert (tmp_path / "worst.png").stat().st_size > 0
    text = run_cli("evaluate", "--digits", digit_folder)
    assert "confusion" in text.stdout and "of 200 digits" in text.stdout


def test_extract_prints_only_its_own_lines(tmp_path):
    """No library chatter (TensorFlow start-up, the TF Lite delegate's INFO line) reaches the user:
    stderr holds the one summary line."""
    sample = sorted((ROOT / "samples" / "forms").iterdir())[0]
    run = run_cli("extract", sample, "-o", tmp_path / "out.csv")
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "0 errors" in lines[0] and str(tmp_path / "out.csv") in lines[0]
