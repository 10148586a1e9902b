"""`make bench`: accuracy on every real dev set and on generated pages, speed, and Tesseract beside
it, written to bench/results.md. Generated pages go to build/bench (git-ignored)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import time
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

from extractor import api, evaluate, generate
from extractor.model import load_model, read_card
from extractor.normalize import normalize_batch

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
BUILD = ROOT / "build" / "bench"


def digits_right(truth: str, read: str) -> int:
    return sum(b.size for b in SequenceMatcher(None, truth, read, autojunk=False).get_matching_blocks())


def tesseract(image_path: Path, psm: int) -> str:
    """Digits Tesseract reads from an image with a digit whitelist, or None if it is not installed."""
    run = subprocess.run(["tesseract", str(image_path), "stdout", "--psm", str(psm),
                          "-c", "tessedit_char_whitelist=0123456789"], capture_output=True, text=True)
    return "".join(ch for ch in run.stdout if ch.isdigit())


def bench_classifier(classify, mnist_images) -> dict:
    batch = normalize_batch(list(mnist_images[:8192]))
    classify(batch[:1024])
    started = time.perf_counter()
    classify(batch)
    return {"digits_per_s": len(batch) / (time.perf_counter() - started)}


def bench_cheque_amounts(classify, use_tesseract: bool) -> dict:
    folder = REAL / "cheque_amounts"
    result = evaluate.evaluate_string_folder(folder, classify=classify)
    out = {"n": result["n"], "exact": result["exact"], "digit_accuracy": result["digit_accuracy"]}
    if use_tesseract:
        table = evaluate.read_labels(folder, "digits")
        started = time.perf_counter()
        read = [tesseract(folder / f, 7) for f in table["file"]]
        out["tesseract_exact"] = float(np.mean([r == t for r, t in zip(read, table["digits"])]))
        out["tesseract_s"] = time.perf_counter() - started
    return out


def bench_nist(classify) -> dict:
    folder = REAL / "nist_form"
    truth = json.loads((folder / "ground_truth.json").read_text())
    frame = api.extract([folder / truth["image"]], layout="page", classify=classify)
    pool = list(frame["text"])
    found = 0
    for text in truth["digit_fields_reading_order"]:
        if text in pool:
            pool.remove(text)
            found += 1
    return {"found": found, "of": len(truth["digit_fields_reading_order"]), "strings_read": len(frame)}


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


def bench_generated(classify, count: int, use_tesseract: bool) -> dict:
    folder = BUILD / "pages"
    if folder.exists():
        shutil.rmtree(folder)
    pages = generate.mnist_pages(folder, count, seed=11)
    started = time.perf_counter()
    frame = api.extract([folder], layout="page", classify=classify)
    seconds = time.perf_counter() - started
    exact, strings, right, total = score_pages(frame, pages)
    out = {"pages": count, "digits": total, "string_exact": exact / strings, "digit_accuracy": right / total,
           "pages_per_s": count / seconds, "digits_per_s": total / seconds}
    if use_tesseract:
        started = time.perf_counter()
        t_right = t_total = 0
        for name, page in pages.items():
            read = tesseract(folder / name, 6)
            wanted = "".join(t.text for t in page.truth)
            t_right += digits_right(wanted, read)
            t_total += len(wanted)
        out["tesseract_digit_recall"] = t_right / t_total
        out["tesseract_pages_per_s"] = count / (time.perf_counter() - started)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20, help="generated pages to read")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    args = parser.parse_args()
    use_tesseract = shutil.which("tesseract") is not None
    classify = api.Classifier()
    card = read_card()
    model = classify.model
    from extractor import mnist

    test = mnist.load_split(mnist.find_data_dir(), "test")
    lines = ["# Benchmark results", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores; model {card.get('model')} "
             f"({card.get('parameters', 0):,} parameters, {card.get('size_bytes', 0) / 1e6:.2f} MB). "
             f"Made by `make bench` on {time.strftime('%Y-%m-%d')}.", "",
             "## Digits", "", "| set | n | accuracy |", "|---|---|---|"]
    score = evaluate.evaluate_mnist(model)
    lines.append(f"| MNIST test (through normalize.py) | {score.n} | {score.accuracy:.2%} |")
    for name, folder in evaluate.REAL_DIGIT_SETS.items():
        if (folder / "labels.csv").is_file():
            s = evaluate.evaluate_digit_folder(model, folder)
            lines.append(f"| {name} (`extract --layout digit`) | {s.n} | {s.accuracy:.2%} |")
    speed = bench_classifier(classify, test.images)
    lines += ["", f"Classification: {speed['digits_per_s']:,.0f} digits/s (batches of 1024, this machine).", ""]

    lines += ["## Strings", "", "| set | n | exact strings | digits right | Tesseract exact |", "|---|---|---|---|---|"]
    if (REAL / "cheque_amounts" / "labels.csv").is_file():
        c = bench_cheque_amounts(classify, use_tesseract)
        lines.append(f"| cheque_amounts (`--layout field`) | {c['n']} | {c['exact']:.1%} | {c['digit_accuracy']:.1%} | "
                     f"{c.get('tesseract_exact', float('nan')):.1%} |")
    if (REAL / "nist_form" / "ground_truth.json").is_file():
        n = bench_nist(classify)
        lines.append(f"| nist_form (`--layout page`) | {n['of']} | {n['found']} of {n['of']} | | |")
    g = bench_generated(classify, args.pages, use_tesseract)
    lines.append(f"| generated forms from MNIST test digits (`--layout page`) | {g['pages']} pages, {g['digits']} digits | "
                 f"{g['string_exact']:.1%} | {g['digit_accuracy']:.1%} | digits found: {g.get('tesseract_digit_recall', float('nan')):.1%} |")
    lines += ["", "## Speed", "", "| what | ours | Tesseract |", "|---|---|---|",
              f"| generated 300-dpi letter pages, 1 process | {g['pages_per_s']:.2f} pages/s, {g['digits_per_s']:.0f} digits/s | "
              f"{g.get('tesseract_pages_per_s', float('nan')):.2f} pages/s |", ""]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
