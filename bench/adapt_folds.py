"""extractor adapt measured on the real dev sets in disjoint folds: adapted on some fields, read on
the others (never a field it adapted on), against the shipped models on the same fields. Writes
bench/adapt.md, which bench/run.py copies into bench/results.md.

    .venv/bin/python bench/adapt_folds.py [--epochs N] [--sets cheque_amounts,cheques,after]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from extractor import adapt, api, evaluate
from extractor.readers import Classifier

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
BUILD = ROOT / "build" / "bench" / "adapt"


def _labelled(folder: Path, files: list[Path], digits: list[str]) -> Path:
    """A labelled folder (links to ``files``, labels.csv) as extractor adapt and evaluate read it."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    names = []
    for i, path in enumerate(files):
        name = f"{i:04d}{Path(path).suffix}"
        os.symlink(Path(path).resolve(), folder / name)
        names.append(name)
    pd.DataFrame({"file": names, "digits": digits}).to_csv(folder / "labels.csv", index=False)
    return folder


def folds(count: int, k: int, seed: int = 7) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(count)
    return [np.sort(part) for part in np.array_split(order, k)]


def cheque_amounts(epochs: int, log) -> dict:
    """4 folds of the 128 amount crops: adapt on three quarters, read the fourth."""
    folder = REAL / "cheque_amounts"
    table = evaluate.read_labels(folder, "digits")
    files = [folder / name for name in table["file"]]
    digits = [str(d) for d in table["digits"]]
    shipped, adapted, seconds = [], [], []
    for number, test in enumerate(folds(len(files), 4)):
        train = np.setdiff1d(np.arange(len(files)), test)
        base = BUILD / f"amounts_fold{number}"
        train_dir = _labelled(base / "train", [files[i] for i in train], [digits[i] for i in train])
        test_dir = _labelled(base / "test", [files[i] for i in test], [digits[i] for i in test])
        started = time.time()
        adapt.adapt([train_dir], base / "models", epochs=epochs, seed=number + 1, log=log)
        seconds.append(time.time() - started)
        shipped.append(evaluate.evaluate_string_folder(test_dir, classify=Classifier())["exact"])
        adapted.append(evaluate.evaluate_string_folder(test_dir, classify=Classifier.from_folder(base / "models"))["exact"])
        log(f"cheque_amounts fold {number}: shipped {shipped[-1]:.1%}, adapted {adapted[-1]:.1%}, {seconds[-1]:.0f}s")
    return {"shipped": shipped, "adapted": adapted, "seconds": seconds, "train_fields": len(train)}


def corrected_fields(images: list[Path], digits: list[str], out: Path) -> Path:
    """The amount fields of ``images`` as a user's corrections download holds them (web app,
    History): each cheque read through the template by the shipped models, the amount's crop cut
    where its record says it was read (adapt.corrected_crop), labelled with the right digits."""
    import cv2

    from extractor.pages import load_pages

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    frame = api.extract(images, template="cts2010", classify=Classifier())
    rows = frame[frame["field"] == "amount"].set_index("source")
    names = []
    for i, path in enumerate(images):
        name = f"{i:04d}.png"
        row = rows.loc[str(path)]
        image = load_pages(path)[0].image
        crop = adapt.corrected_crop(image, int(row["x"]), int(row["y"]), int(row["width"]), int(row["height"]))
        cv2.imwrite(str(out / name), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR) if crop.ndim == 3 else crop)
        names.append(name)
    pd.DataFrame({"file": names, "digits": digits}).to_csv(out / "labels.csv", index=False)
    return out


def cheques(epochs: int, log) -> dict:
    """2 folds of the 28 CTS-2010 cheques: adapt on one half's amount fields as the corrections
    download cuts them, read the other half's cheques through the template."""
    from extractor.records import wide_frame

    folder = REAL / "cheques"
    truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
    shipped, adapted, seconds = [], [], []
    for number, test in enumerate(folds(len(truth), 2)):
        train = np.setdiff1d(np.arange(len(truth)), test)
        base = BUILD / f"cheques_fold{number}"
        train_dir = corrected_fields([folder / truth["image"][i] for i in train],
                                     [truth["amount_digits"][i] for i in train], base / "train")
        test_dir = base / "test"
        if test_dir.exists():
            shutil.rmtree(test_dir)
        test_dir.mkdir(parents=True)
        for i in test:
            os.symlink((folder / truth["image"][i]).resolve(), test_dir / truth["image"][i])
        started = time.time()
        adapt.adapt([train_dir], base / "models", epochs=epochs, seed=number + 1, log=log)
        seconds.append(time.time() - started)
        want = {truth["image"][i]: truth["amount_digits"][i] for i in test}
        for readers, out in ((Classifier(), shipped), (Classifier.from_folder(base / "models"), adapted)):
            read = wide_frame(api.extract([test_dir], template="cts2010", classify=readers), ["date", "amount"])
            got = dict(zip(read["source"], read["amount"]))
            out.append(float(np.mean([got.get(name, "") == text for name, text in want.items()])))
        log(f"cheques fold {number}: shipped {shipped[-1]:.1%}, adapted {adapted[-1]:.1%}, {seconds[-1]:.0f}s")
    return {"shipped": shipped, "adapted": adapted, "seconds": seconds}


def after_all_amounts(epochs: int, log) -> dict:
    """Adapted on all 128 amounts: the generated pages and the usps digits, shipped against adapted."""
    from run import kept_in_mind

    folder = REAL / "cheque_amounts"
    started = time.time()
    adapt.adapt([folder], BUILD / "all_amounts", epochs=epochs, seed=1, log=log)
    seconds = time.time() - started
    out = {"seconds": seconds}
    for name, readers in (("shipped", Classifier()), ("adapted", Classifier.from_folder(BUILD / "all_amounts"))):
        large = REAL / "cheque_amounts_large"
        out[name] = {}
        if (large / "labels.csv").is_file():  # the same kind of fields, none of them adapted on
            out[name]["cheque_amounts_large"] = evaluate.evaluate_string_folder(large, classify=readers)["exact"]
        out[name].update(kept_in_mind(readers))
        out[name]["mnist_test"] = evaluate.evaluate_mnist(readers.model).accuracy
    log(f"after all amounts: {out}")
    return out


def _per_fold(result: dict) -> str:
    return ", ".join(f"{100 * a:.1f} ({100 * (a - s):+.1f})" for s, a in zip(result["shipped"], result["adapted"]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=adapt.EPOCHS)
    parser.add_argument("--sets", default="cheque_amounts,cheques,after")
    args = parser.parse_args()
    wanted = args.sets.split(",")
    log = print
    lines = ["## Adapting to the writers (`extractor adapt`)", "",
             f"Made by `bench/adapt_folds.py --epochs {args.epochs} --sets {args.sets}` on {time.strftime('%Y-%m-%d')}, "
             f"{platform.machine()}, {os.cpu_count()} cores."]
    if {"cheque_amounts", "cheques"} & set(wanted):
        lines += ["Each fold adapts on its training fields (one pass: no fields held out within it) and is read on "
                  "fields it never saw.", "", "| set | folds | shipped | adapted | gain | adapted per fold | adapt time (s) |",
                  "|---|---|---|---|---|---|---|"]
    if "cheque_amounts" in wanted:
        c = cheque_amounts(args.epochs, log)
        lines.append(f"| cheque_amounts (`--layout field`), {c['train_fields']} fields adapted on | 4 | "
                     f"{np.mean(c['shipped']):.1%} | {np.mean(c['adapted']):.1%} | "
                     f"{100 * (np.mean(c['adapted']) - np.mean(c['shipped'])):+.1f} points | "
                     f"{_per_fold(c)} | {', '.join(f'{s:.0f}' for s in c['seconds'])} |")
    if "cheques" in wanted:
        c = cheques(args.epochs, log)
        lines.append(f"| cheques amounts (`--template cts2010`) | 2 | {np.mean(c['shipped']):.1%} | "
                     f"{np.mean(c['adapted']):.1%} | {100 * (np.mean(c['adapted']) - np.mean(c['shipped'])):+.1f} points | "
                     f"{_per_fold(c)} | {', '.join(f'{s:.0f}' for s in c['seconds'])} |")
    if "after" in wanted:
        a = after_all_amounts(args.epochs, log)
        lines += ["", f"Adapted on all 128 cheque_amounts ({a['seconds']:.0f} s; PP-OCRv6's last layer, the string reader "
                  "and the digit model), other sets:", "", "| set | shipped | adapted |", "|---|---|---|"]
        from run import KEPT_IN_MIND, side_by_side

        lines += side_by_side(a["shipped"], a["adapted"], [
            ("cheque_amounts_large", "cheque_amounts_large (`--layout field`), exact"), *KEPT_IN_MIND[:2],
            ("mnist_test", "MNIST test"), *KEPT_IN_MIND[2:]])
    text = "\n".join(lines) + "\n"
    (ROOT / "bench" / "adapt.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
