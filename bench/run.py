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
from pathlib import Path

import numpy as np

from extractor import api, evaluate, generate, strings
from extractor.evaluate import count_found, score_pages
from extractor.model import read_card
from extractor.normalize import normalize_batch

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
BUILD = ROOT / "build" / "bench"


def tesseract(image_path: Path, psm: int) -> str:
    """Digits Tesseract reads from an image with a digit whitelist, or None if it is not installed."""
    run = subprocess.run(["tesseract", str(image_path), "stdout", "--psm", str(psm),
                          "-c", "tessedit_char_whitelist=0123456789"], capture_output=True, text=True)
    return "".join(ch for ch in run.stdout if ch.isdigit())


#: The venvs `make bench` installs the RapidOCR peers into (never the project's own): PP-OCRv4
#: (rapidocr_onnxruntime) and PP-OCRv6 (rapidocr 3.10), each with the script that reads with it.
PEERS = {"rapidocr": (ROOT / "build" / "rapidocr-venv" / "bin" / "python", ROOT / "bench" / "rapidocr_digits.py"),
         "ppocr6": (ROOT / "build" / "ppocr6-venv" / "bin" / "python", ROOT / "bench" / "ppocr6_digits.py")}


def rapidocr(paths: list[Path], peer: str = "rapidocr") -> tuple[list[str], float] | None:
    """What a RapidOCR peer digits-only reads from each crop (PP-OCRv4 with bench/rapidocr_digits.py,
    or PP-OCRv6 with bench/ppocr6_digits.py, each in its own venv), and the seconds it took; None
    when its venv is not there."""
    python, script = PEERS[peer]
    if not python.is_file():
        return None
    run = subprocess.run([str(python), str(script)], capture_output=True,
                         text=True, input="\n".join(str(p) for p in paths), check=True)
    result = json.loads(run.stdout)
    return result["texts"], result["seconds"]


def read_at_one_percent(confidences, exact) -> float:
    """The share of strings accepted above the lowest confidence at which the accepted ones are
    still at least 99% exact (the most a person could leave unchecked at 1% error)."""
    confidences, exact = np.asarray(confidences, float), np.asarray(exact, bool)
    order = np.argsort(-confidences, kind="stable")
    running = np.cumsum(exact[order]) / np.arange(1, len(order) + 1)
    good = np.flatnonzero(running >= 0.99)
    return float((good[-1] + 1) / len(order)) if len(good) else 0.0


def calibration(confidences, exact) -> dict:
    """How many strings fall in each confidence band and what share of them is exact."""
    confidences, exact = np.asarray(confidences, float), np.asarray(exact, bool)
    bands = {}
    for low, high in ((0.9, 1.01), (0.8, 0.9), (0.5, 0.8), (0.0, 0.5)):
        pick = (confidences >= low) & (confidences < high)
        bands[f"{low:.1f}-{min(high, 1.0):.1f}"] = (int(pick.sum()), float(exact[pick].mean()) if pick.any() else float("nan"))
    return bands


def bench_classifier(classify, mnist_images) -> dict:
    batch = normalize_batch(list(mnist_images[:8192]))
    classify(batch[:1024])
    started = time.perf_counter()
    classify(batch)
    return {"digits_per_s": len(batch) / (time.perf_counter() - started)}


def bench_cheque_amounts(classify, use_tesseract: bool, peers: bool = True, name: str = "cheque_amounts") -> dict:
    folder = REAL / name
    table = evaluate.read_labels(folder, "digits")
    frame = api.extract([folder / name for name in table["file"]], layout="field", classify=classify)
    rows = frame.set_index("source").loc[[str(folder / name) for name in table["file"]]]
    exact = [r == t for r, t in zip(rows["text"], table["digits"])]
    right = sum(evaluate.digits_right(t, r) for r, t in zip(rows["text"], table["digits"]))
    out = {"n": len(table), "exact": float(np.mean(exact)), "digit_accuracy": right / sum(map(len, table["digits"])),
           "calibration": calibration(rows["confidence"], exact),
           "read_at_1pct": read_at_one_percent(rows["confidence"], exact)}
    if use_tesseract and peers:
        started = time.perf_counter()
        read = [tesseract(folder / f, 7) for f in table["file"]]
        out["tesseract_exact"] = float(np.mean([r == t for r, t in zip(read, table["digits"])]))
        out["tesseract_s"] = time.perf_counter() - started
    for key in PEERS if peers else ():
        peer = rapidocr([folder / f for f in table["file"]], key)
        if peer is not None:
            out[f"{key}_exact"] = float(np.mean([r == t for r, t in zip(peer[0], table["digits"])]))
    return out


def bench_nist(classify) -> dict:
    folder = REAL / "nist_form"
    truth = json.loads((folder / "ground_truth.json").read_text())
    frame = api.extract([folder / truth["image"]], layout="page", classify=classify)
    wanted = truth["digit_fields_reading_order"]
    return {"found": count_found(wanted, frame["text"]), "of": len(wanted), "strings_read": len(frame)}


def bench_generated(classify, count: int, use_tesseract: bool, alone=None, ours_only=None) -> dict:
    """Generated pages read by ``classify`` (timed), and by ``alone`` too when given (its exact
    strings as ``alone_string_exact``): the same pages, made once."""
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
    if alone is not None:
        out["alone_string_exact"] = score_pages(api.extract([folder], layout="page", classify=alone), pages)[0] / strings
    if ours_only is not None:
        out["ours_only_string_exact"] = score_pages(api.extract([folder], layout="page", classify=ours_only),
                                                    pages)[0] / strings
    if use_tesseract:
        started = time.perf_counter()
        t_right = t_total = 0
        for name, page in pages.items():
            read = tesseract(folder / name, 6)
            wanted = "".join(t.text for t in page.truth)
            t_right += evaluate.digits_right(wanted, read)
            t_total += len(wanted)
        out["tesseract_digit_recall"] = t_right / t_total
        out["tesseract_pages_per_s"] = count / (time.perf_counter() - started)
    return out


def kept_in_mind(classify) -> dict:
    """What tuned models must not forget, read by ``classify``: the generated pages' strings and
    digits, and usps_train's digits where it is at hand."""
    g = bench_generated(classify, 20, False)
    out = {"generated_strings": g["string_exact"], "generated_digits": g["digit_accuracy"]}
    usps = REAL / "digits" / "usps_train"
    if (usps / "labels.csv").is_file():
        out["usps_train"] = evaluate.evaluate_digit_folder(classify.model, usps).accuracy
    return out


#: kept_in_mind's figures, each with its label in a table.
KEPT_IN_MIND = [("generated_strings", "generated pages, strings exact"),
                ("generated_digits", "generated pages, digits right"), ("usps_train", "usps_train")]


def side_by_side(first: dict, second: dict, rows) -> list[str]:
    """Markdown rows "| label | first | second |" for each (key, label) of ``rows`` measured."""
    return [f"| {label} | {first[key]:.2%} | {second[key]:.2%} |" for key, label in rows if key in first]


def cheque_field_crops(folder: Path, out: Path) -> dict[str, list[Path]]:
    """Each cheque's date and amount field, as the cts2010 template places them, cut from the page
    (deskewed, at the working resolution) into PNG files for the peers to read; by field, in the
    order of truth.csv (a cheque the template cannot align gets an empty crop)."""
    import cv2
    import pandas as pd

    from extractor import clean, fields, pages
    from extractor.pages import load_pages
    from extractor.templates import load_template

    template = load_template("cts2010")
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    crops: dict[str, list[Path]] = {"date": [], "amount": []}
    for index, name in enumerate(truth["image"]):
        page = load_pages(folder / name)[0]
        image, scale = clean.working_copy(page.image, page.dpi or pages.ASSUMED_DPI)
        cleaned = clean.clean_page(image, dpi=(page.dpi or pages.ASSUMED_DPI) * scale)
        height = clean.estimate_digit_height(cleaned.gray, (page.dpi or pages.ASSUMED_DPI) * scale)
        try:
            rects = {spec.name: rect for spec, rect, _ in fields.field_places(template, cleaned, height)}
        except Exception:
            rects = {}
        for spec in template.fields:
            path = out / spec.name / f"{index:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            crop = np.full((8, 8), 255, np.uint8)
            if spec.name in rects:
                x, y, w, h = rects[spec.name]
                crop = cleaned.gray[max(0, y): y + h, max(0, x): x + w]
            cv2.imwrite(str(path), crop if crop.size else np.full((8, 8), 255, np.uint8))
            crops[spec.name].append(path)
    return crops


def bench_cheques(classify, peers: bool = False) -> dict:
    """Real CTS-2010 cheques through the built-in template: date and amount exact, with each field's
    calibration; with ``peers``, Tesseract and RapidOCR on the same fields cut as the template places
    them."""
    import pandas as pd

    from extractor.records import wide_frame

    folder = REAL / "cheques"
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    frame = api.extract([folder], template="cts2010", classify=classify)
    read = wide_frame(frame, ["date", "amount"]).set_index("source")
    confidence = frame.set_index(["source", "field"])["confidence"]
    out = {"n": len(truth)}
    for field, column in (("date", "date"), ("amount", "amount_digits")):
        exact = [i in read.index and read.loc[i, field] == t for i, t in zip(truth["image"], truth[column])]
        out[field] = float(np.mean(exact))
        sure = [confidence.get((i, field), 0.0) for i in truth["image"]]
        out[f"{field}_calibration"] = calibration(sure, exact)
        out[f"{field}_read_at_1pct"] = read_at_one_percent(sure, exact)
    if peers:
        crops = cheque_field_crops(folder, BUILD / "cheque_fields")
        for field, column in (("date", "date"), ("amount", "amount_digits")):
            if shutil.which("tesseract"):
                read_t = [tesseract(p, 7) for p in crops[field]]
                out[f"tesseract_{field}"] = float(np.mean([r == t for r, t in zip(read_t, truth[column])]))
            for key in PEERS:
                peer = rapidocr(crops[field], key)
                if peer is not None:
                    out[f"{key}_{field}"] = float(np.mean([r == t for r, t in zip(peer[0], truth[column])]))
    return out


def bench_cheque_copies(classify) -> dict:
    """The 28 real cheques as a 200-dpi scanner saves them (two thirds of the size, no resolution
    in the file) and as a phone photographs them (generate.photographed, seed 0): date and amount
    exact, by kind of copy. Made into build/bench/cheque_copies, never committed."""
    import cv2
    import pandas as pd

    from extractor.records import wide_frame

    folder = REAL / "cheques"
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False).set_index("image")
    rng = np.random.default_rng(0)
    out = {}
    for kind in ("scanned at 200 dpi", "photographed"):
        made = BUILD / "cheque_copies" / kind.split()[0]
        shutil.rmtree(made, ignore_errors=True)
        made.mkdir(parents=True)
        for name in truth.index:
            image = cv2.imread(str(folder / name))
            copy = (generate.photographed(image, rng) if kind == "photographed"
                    else cv2.resize(image, None, fx=2 / 3, fy=2 / 3, interpolation=cv2.INTER_AREA))
            cv2.imwrite(str(made / name), copy, [cv2.IMWRITE_JPEG_QUALITY, 95])
        read = wide_frame(api.extract([made], template="cts2010", classify=classify), ["date", "amount"]).set_index("source")
        out[kind] = {field: float(np.mean([i in read.index and read.loc[i, field] == t for i, t in truth[column].items()]))
                     for field, column in (("date", "date"), ("amount", "amount_digits"))}
    return out


def bench_template_forms(classify, count: int, alone=None) -> dict:
    """Generated fixed forms (MNIST test digits), shifted, rotated up to 3 degrees and scaled 5%,
    read through a template made by `template init` from the blank form; by ``alone`` too when
    given (``alone_exact``)."""
    from extractor import mnist
    from extractor.pages import load_pages
    from extractor.records import wide_frame
    from extractor.templates import init_template

    folder = BUILD / "template_forms"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "filled").mkdir(parents=True)
    rng = np.random.default_rng(31)
    layout = generate.form_layout(rng, fields=10)
    generate.save_page(generate.fill_form(layout, rng, None, blank=True).image, folder / "blank.png")
    template = init_template(load_pages(folder / "blank.png")[0], "generated")
    test = mnist.load_split(mnist.find_data_dir(), "test")
    draw = generate.mnist_digit_source(test.images, test.labels)
    truth = {}
    for i in range(count):
        page = generate.fill_form(layout, rng, draw)
        generate.save_page(generate.misplace(page.image, rng), folder / "filled" / f"form_{i:03d}.png")
        truth[f"form_{i:03d}.png"] = {t.field: t.text for t in page.truth}
    names = [f.name for f in template.fields]

    def exact(reader) -> float:
        wide = wide_frame(api.extract([folder / "filled"], template=template, classify=reader), names).set_index("source")
        right = sum(name in wide.index and field in wide.columns and wide.loc[name, field] == text
                    for name, fields in truth.items() for field, text in fields.items())
        return right / sum(len(fields) for fields in truth.values())

    out = {"pages": count, "fields": sum(len(fields) for fields in truth.values()), "exact": exact(classify)}
    if alone is not None:
        out["alone_exact"] = exact(alone)
    return out



def bench_field_speed(workers: int = 2) -> dict:
    """The 540 crops of cheque_amounts_large read as a user reads them, `extractor extract --layout
    field --workers 2` in a fresh process, start-up included; and by Tesseract with as many
    processes, and each RapidOCR peer digits-only in one, in the same run."""
    import concurrent.futures
    import sys

    folder = REAL / "cheque_amounts_large"
    crops = sorted(folder.glob("*.jpg"))
    out = {"fields": len(crops), "workers": workers}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "extractor.cli", "extract", str(folder), "--layout", "field", "-o",
                    str(BUILD / "field_speed.csv"), "--workers", str(workers)], check=True, capture_output=True)
    out["ours_s"] = time.perf_counter() - started
    if shutil.which("tesseract"):
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:  # each call is its own process
            list(pool.map(lambda p: tesseract(p, 7), crops))
        out["tesseract_s"] = time.perf_counter() - started
    for key in PEERS:
        started = time.perf_counter()
        if rapidocr(crops, key) is not None:
            out[f"{key}_s"] = time.perf_counter() - started
    return out


#: Times each throughput run is made (the median is reported).
ROUNDS = 3


def bench_throughput(count: int) -> dict:
    """Pages/s and digits/s reading generated pages as a user does, `extractor extract` in a fresh
    process, with 1 and 2 workers and on a 2-worker Dask LocalCluster. Each is run on a quarter of the
    pages and on all of them: the wall time of the full run includes start-up and model loading; the
    difference between the two runs gives the steady rate that a long batch sees."""
    import sys

    from extractor.records import read_csv

    folder = BUILD / "throughput"
    if folder.exists():
        shutil.rmtree(folder)
    pages = generate.mnist_pages(folder / "all", count, seed=12, fields=16)
    few = sorted(pages)[: max(1, count // 4)]
    (folder / "few").mkdir()
    for name in few:
        shutil.copy(folder / "all" / name, folder / "few" / name)
    digits = sum(len(t.text) for p in pages.values() for t in p.truth)
    out = {"pages": count, "digits": digits, "few": len(few)}

    def timed(name, *options):
        # Each run is made ROUNDS times, the two sizes taking turns, and the median taken: one
        # run's time moves with whatever else the machine does, and the steady rate, from the
        # difference of two runs, moves twice as much.
        times = {"few": [], "all": []}
        for _ in range(ROUNDS):
            for part in ("few", "all"):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "extractor.cli", "extract", str(folder / part),
                                "-o", str(folder / f"{name}_{part}.csv"), *options], check=True, capture_output=True)
                times[part].append(time.perf_counter() - started)
        seconds = {part: float(np.median(t)) for part, t in times.items()}
        out[f"{name}_s"] = seconds["all"]
        out[f"{name}_steady"] = (count - len(few)) / max(1e-9, seconds["all"] - seconds["few"])
        return read_csv(folder / f"{name}_all.csv")

    one = timed("workers_1", "--workers", "1")
    two = timed("workers_2", "--workers", "2")
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = timed("dask", "--scheduler", cluster.scheduler_address)
    out["same_rows"] = one.equals(two) and one.equals(dask)
    if shutil.which("tesseract"):
        started = time.perf_counter()
        for name in pages:
            tesseract(folder / "all" / name, 6)
        out["tesseract_s"] = time.perf_counter() - started
    return out


def throughput_lines(t: dict) -> list[str]:
    """The throughput table of bench/results.md."""
    per_page = t["digits"] / t["pages"]
    rate = lambda seconds: f"{t['pages'] / seconds:.2f} pages/s"
    steady = lambda name: f"{t[name + '_steady']:.2f} pages/s, {t[name + '_steady'] * per_page:.0f} digits/s"
    lines = ["## Throughput", "",
             f"{t['pages']} generated 300-dpi letter pages ({t['digits']} digits) read from PNG files by `extractor "
             f"extract` in a fresh process; the three tables are identical: {t['same_rows']}. *Wall* includes "
             f"start-up and model loading; *steady* is the rate a long batch sees, from the difference between "
             f"this run and one of {t['few']} pages. Each run was made {ROUNDS} times, the two in turn; the "
             f"table has the median times.", "",
             "| run | wall | wall rate | steady rate | steady vs 1 worker |", "|---|---|---|---|---|"]
    for name, label in (("workers_1", "1 worker"), ("workers_2", "2 workers"), ("dask", "Dask LocalCluster, 2 workers")):
        lines.append(f"| {label} | {t[name + '_s']:.1f} s | {rate(t[name + '_s'])} | {steady(name)} | "
                     f"{t[name + '_steady'] / t['workers_1_steady']:.2f}x |")
    if "tesseract_s" in t:
        lines.append(f"| Tesseract 5, 1 process (digit whitelist) | {t['tesseract_s']:.1f} s | {rate(t['tesseract_s'])} | | |")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20, help="generated pages to read")
    parser.add_argument("--throughput-pages", type=int, default=40, help="generated pages for the throughput table")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    parser.add_argument("--throughput-only", action="store_true", help="print the throughput table only")
    args = parser.parse_args()
    if args.throughput_only:
        print("\n".join(throughput_lines(bench_throughput(args.throughput_pages))))
        return
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

    # The same sets read by the glyph reader alone, and by our two readers without PP-OCRv6.
    alone = api.Classifier(string_model_path=None)
    ours_only = api.Classifier(with_ppocr=False)
    nan = float("nan")
    lines += ["## Strings", "", "The string reader's synthetic fields from MNIST test digits: "
              + ", ".join(f"{k} {v:.2%}" for k, v in read_card(strings.DEFAULT_STRING_MODEL).get("mnist_test", {}).items())
              + ". *Without PP-OCRv6*: our string and glyph readers alone, by the same decision. *Glyphs alone*: the "
              "glyph reader alone. Peers, each on the same crops, each crop alone, their CTC output restricted to the "
              "blank and the digits, greedy decoding: PP-OCRv4's recognizer from the rapidocr_onnxruntime wheel, "
              "PP-OCRv6's from the rapidocr 3.10 wheel, and Tesseract 5 with a digit whitelist.", "",
              "| set | n | exact strings | digits right | without PP-OCRv6 | glyphs alone | Tesseract | PP-OCRv4 | PP-OCRv6 |",
              "|---|---|---|---|---|---|---|---|---|"]
    calibrated = []
    for set_name in ("cheque_amounts_large", "cheque_amounts"):
        if (REAL / set_name / "labels.csv").is_file():
            c = bench_cheque_amounts(classify, use_tesseract, name=set_name)
            c1 = bench_cheque_amounts(ours_only, False, peers=False, name=set_name)
            c0 = bench_cheque_amounts(alone, False, peers=False, name=set_name)
            lines.append(f"| {set_name} (`--layout field`) | {c['n']} | {c['exact']:.1%} | {c['digit_accuracy']:.1%} | "
                         f"{c1['exact']:.1%} | {c0['exact']:.1%} | {c.get('tesseract_exact', nan):.1%} | "
                         f"{c.get('rapidocr_exact', nan):.1%} | {c.get('ppocr6_exact', nan):.1%} |")
            calibrated.append((set_name, c["calibration"], c["read_at_1pct"]))
    if (REAL / "nist_form" / "ground_truth.json").is_file():
        n = bench_nist(classify)
        n1 = bench_nist(ours_only)
        n0 = bench_nist(alone)
        lines.append(f"| nist_form (`--layout page`) | {n['of']} | {n['found']} of {n['of']} | | {n1['found']} of {n1['of']} | "
                     f"{n0['found']} of {n0['of']} | | | |")
    g = bench_generated(classify, args.pages, use_tesseract, alone, ours_only)
    lines.append(f"| generated forms from MNIST test digits (`--layout page`) | {g['pages']} pages, {g['digits']} digits | "
                 f"{g['string_exact']:.1%} | {g['digit_accuracy']:.1%} | {g['ours_only_string_exact']:.1%} | "
                 f"{g['alone_string_exact']:.1%} | "
                 f"digits found: {g.get('tesseract_digit_recall', nan):.1%} | | |")
    if (REAL / "cheques" / "truth.csv").is_file():
        c = bench_cheques(classify, peers=True)
        c1 = bench_cheques(ours_only)
        c0 = bench_cheques(alone)
        both = lambda r, k: f"date {r.get(k + 'date', nan):.1%}, amount {r.get(k + 'amount', nan):.1%}"
        lines.append(f"| cheques, `--template cts2010` | {c['n']} cheques | {both(c, '')} | | {both(c1, '')} | "
                     f"{both(c0, '')} | {both(c, 'tesseract_')} | {both(c, 'rapidocr_')} | {both(c, 'ppocr6_')} |")
        for kind, r in bench_cheque_copies(classify).items():
            lines.append(f"| cheques, `--template cts2010`, {kind} | {c['n']} cheques | date {r['date']:.1%}, "
                         f"amount {r['amount']:.1%} | | | | | | |")
        calibrated += [("cheques, date", c["date_calibration"], c["date_read_at_1pct"]),
                       ("cheques, amount", c["amount_calibration"], c["amount_read_at_1pct"])]
    f = bench_template_forms(classify, args.pages, alone)
    lines.append(f"| generated forms through a `template init` template, shifted, rotated ±3°, scaled ±5% | "
                 f"{f['pages']} pages, {f['fields']} fields | {f['exact']:.1%} | | | {f['alone_exact']:.1%} | | | |")
    if calibrated:
        bands = list(calibrated[0][1])
        lines += ["", "## Calibration", "", "How many strings read with each confidence, and what share of them is "
                  "exact (`confidence` is meant as the probability that the string is right); *read at 1% error*: "
                  "the share of all strings accepted above the lowest confidence at which the accepted ones are "
                  "still 99% exact.", "",
                  "| set | " + " | ".join(f"confidence {b}" for b in bands) + " | read at 1% error |",
                  "|---|" + "---|" * (len(bands) + 1)]
        for name, table, at_1 in calibrated:
            lines.append(f"| {name} | " + " | ".join(f"{n}: {share:.1%}" if n else "0" for n, share in table.values())
                         + f" | {at_1:.1%} |")
    lines += ["", "## Speed", "", "| what | ours | Tesseract |", "|---|---|---|",
              f"| generated 300-dpi letter pages, 1 process | {g['pages_per_s']:.2f} pages/s, {g['digits_per_s']:.0f} digits/s | "
              f"{g.get('tesseract_pages_per_s', float('nan')):.2f} pages/s |", ""]
    if (REAL / "cheque_amounts_large" / "labels.csv").is_file():
        fs = bench_field_speed()
        rate = lambda key: f"{fs['fields'] / fs[key]:.0f} fields/s ({fs[key]:.1f} s)" if key in fs else ""
        lines += [f"| the {fs['fields']} crops of cheque_amounts_large, `--layout field --workers 2`, start-up "
                  f"included | {rate('ours_s')} | {rate('tesseract_s')} (2 processes); digits-only, 1 process: "
                  f"PP-OCRv4 {rate('rapidocr_s')}, PP-OCRv6 {rate('ppocr6_s')} |", ""]
    lines += throughput_lines(bench_throughput(args.throughput_pages))
    for apart in ("adapt.md", "learn.md"):  # bench/adapt_folds.py, bench/learn.py: half an hour each, so run apart
        if (ROOT / "bench" / apart).is_file():
            lines += ["", (ROOT / "bench" / apart).read_text().rstrip()]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
