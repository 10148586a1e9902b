"""`make bench-learn`: `extractor extract --learn` on the real sets read as unlabeled batches, each
beside the same command without --learn, as a user runs them (2 workers, start-up included); and
the models it saves read on generated pages and usps_train beside the shipped ones (forgetting).
Writes bench/learn.md, which the next `make bench` copies into bench/results.md.

    python bench/learn.py [--sets cheque_amounts_large,cheque_amounts,cheques,forgetting]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import KEPT_IN_MIND, calibration, kept_in_mind, read_at_one_percent, side_by_side  # noqa: E402

from extractor.readers import Classifier  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
BUILD = ROOT / "build" / "bench" / "learn"


def extract(folder: Path, out: Path, *options: str) -> tuple[pd.DataFrame, float, str]:
    """`extractor extract FOLDER ... --workers 2` in a fresh process: its table, seconds and summary."""
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "extractor.cli", "extract", str(folder), "-o", str(out), "--workers", "2",
                          *options], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if run.returncode not in (0, 1):
        raise SystemExit(run.stderr[-2000:])
    summary = [line.split("; tuned models in")[0] for line in run.stderr.splitlines() if line.startswith("learned")]
    return pd.read_csv(out, dtype=str, keep_default_na=False), seconds, " / ".join(summary)


def amounts(name: str) -> dict:
    """An amount set read with and without --learn (``--layout field``): exact, calibration, time."""
    folder = REAL / name
    truth = dict(pd.read_csv(folder / "labels.csv", dtype=str).values)
    out = {}
    for label, options in (("once", ()), ("learn", ("--learn", "--learn-save", str(BUILD / f"{name}_models")))):
        table, seconds, summary = extract(folder, BUILD / f"{name}_{label}.csv", "--layout", "field", *options)
        exact = [t == truth[Path(s).name] for s, t in zip(table["source"], table["text"])]
        confidence = table["confidence"].astype(float).tolist()
        out[label] = {"exact": float(np.mean(exact)), "seconds": seconds, "summary": summary,
                      "calibration": calibration(confidence, exact), "read_at_1pct": read_at_one_percent(confidence, exact)}
        print(name, label, out[label], flush=True)
    return out


def cheques() -> dict:
    """The real CTS-2010 cheques read with and without --learn (``--template cts2010``)."""
    folder = REAL / "cheques"
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False).set_index("image")
    out = {}
    for label, options in (("once", ()), ("learn", ("--learn",))):
        table, seconds, summary = extract(folder, BUILD / f"cheques_{label}.csv", "--template", "cts2010", *options)
        table = table.set_index("source")
        out[label] = {"seconds": seconds, "summary": summary}
        for field, column in (("date", "date"), ("amount", "amount_digits")):
            out[label][field] = float(np.mean([i in table.index and table.loc[i, field] == t
                                               for i, t in truth[column].items()]))
        print("cheques", label, out[label], flush=True)
    return out


def forgetting(models: Path) -> dict:
    """Generated pages and usps_train read with the shipped models and with ``models``."""
    out = {"shipped": kept_in_mind(Classifier()), "learned": kept_in_mind(Classifier.from_folder(models))}
    print("forgetting", out, flush=True)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="cheque_amounts_large,cheque_amounts,cheques,forgetting")
    args = parser.parse_args()
    wanted = args.sets.split(",")
    BUILD.mkdir(parents=True, exist_ok=True)
    lines = ["## Learning the batch's writers (`extract --learn`)", "",
             f"Made by `bench/learn.py` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores. "
             "Each set read as an unlabeled batch by `extractor extract ... --workers 2` in a fresh process, with "
             "and without `--learn --learn-save DIR`; time is all of it, start-up, both readings and the tuning "
             "included. The folder `--learn-save` keeps holds the string reader tuned on the batch (PP-OCRv6's "
             "layer as shipped).", "",
             "| set | exact, read once | exact, with --learn | gain | >= 0.9 once | >= 0.9 with --learn | "
             "time once | time with --learn |", "|---|---|---|---|---|---|---|---|"]
    sure = lambda r: "{}: {:.1%}".format(*r["calibration"]["0.9-1.0"])  # noqa: E731
    for name in ("cheque_amounts_large", "cheque_amounts"):
        if name in wanted and (REAL / name / "labels.csv").is_file():
            r = amounts(name)
            lines.append(f"| {name} (`--layout field`) | {r['once']['exact']:.1%} | {r['learn']['exact']:.1%} | "
                         f"{100 * (r['learn']['exact'] - r['once']['exact']):+.1f} points | {sure(r['once'])} | "
                         f"{sure(r['learn'])} | {r['once']['seconds']:.0f} s | {r['learn']['seconds']:.0f} s |")
            lines.append(f"| | {r['learn']['summary']} | | | | | | |")
    if "cheques" in wanted and (REAL / "cheques" / "truth.csv").is_file():
        r = cheques()
        lines.append(f"| cheques (`--template cts2010`), date / amount | {r['once']['date']:.1%} / "
                     f"{r['once']['amount']:.1%} | {r['learn']['date']:.1%} / {r['learn']['amount']:.1%} | | | | "
                     f"{r['once']['seconds']:.0f} s | {r['learn']['seconds']:.0f} s |")
        lines.append(f"| | {r['learn']['summary']} | | | | | | |")
    models = BUILD / "cheque_amounts_large_models"
    if "forgetting" in wanted and models.is_dir():
        f = forgetting(models)
        lines += ["", "Forgetting: the models `--learn-save` kept from cheque_amounts_large, on other sets:", "",
                  "| set | shipped | learned |", "|---|---|---|"]
        lines += side_by_side(f["shipped"], f["learned"], KEPT_IN_MIND)
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "learn.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
