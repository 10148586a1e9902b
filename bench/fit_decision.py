"""The decision's few weights (assemble.Decision), fitted by maximum likelihood on the real amounts
of cheque_amounts_large (540 fields), the one set DESIGN.md §4 allows a combination to be fitted
on; the other sets are read with the weights fitted, to see that they hold. Writes
models/decision.json (with --write) and prints what each reader alone, the built-in weights and the
fitted ones read, with the calibration of the fitted confidence.

    python bench/fit_decision.py [--write]
"""

from __future__ import annotations

import argparse
import json
import pickle
import platform
import time
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy.optimize import minimize, minimize_scalar

from extractor import assemble
from extractor.pipeline import read_field_image
from extractor.readers import DECISION_FILE, Classifier

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
BUILD = ROOT / "build" / "decision"
FIT_ON = "cheque_amounts_large"
NAMES = ["strings", "ppocr", "glyphs", "glyphs_cannot_say", "none"]  # fitted first, then glyphs_unasked
#: The decision's thresholds: chosen (docs/how-it-works.md), copied from assemble.DECISION_WEIGHTS.
CHOSEN = ["skip_glyphs_above", "skip_ppocr_above", "look_again_below"]


class Recorder:
    """A decision that keeps every field's candidates as it decides."""

    def __init__(self, decision):
        self.decision, self.weights, self.fields = decision, decision.weights, []

    def __call__(self, candidates):
        self.fields.append(candidates)
        return self.decision(candidates)


def field_candidates(set_name: str) -> tuple[list, list[str]]:
    """Each field of a real amount set, as the candidates the readers give it, and its truth
    (cached under build/decision)."""
    cache = BUILD / f"{set_name}.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    folder = REAL / set_name
    labels = pd.read_csv(folder / "labels.csv", dtype=str)
    classify = Classifier()
    # every field read by every reader: the glyph reader never skipped
    recorder = Recorder(assemble.Decision({**classify.decision.weights, "skip_glyphs_above": 2.0}))
    classify.decision = recorder
    out = []
    for name, truth in zip(labels["file"], labels["digits"]):
        before = len(recorder.fields)
        read_field_image(cv2.imread(str(folder / name)), classify)
        out.append(recorder.fields[-1] if len(recorder.fields) > before else [])  # the decision over all three
    BUILD.mkdir(parents=True, exist_ok=True)
    result = (out, list(labels["digits"]))
    cache.write_bytes(pickle.dumps(result))
    return result


def features(c: assemble.Candidate) -> np.ndarray:
    """A candidate's terms, in NAMES' order, so that its score is their dot product with the weights."""
    floor = assemble.FLOOR
    return np.array([max(floor, c.strings) if c.strings is not None else 0.0,
                     max(floor, c.ppocr) if c.ppocr is not None else 0.0,
                     max(floor, c.glyphs) if c.glyphs is not None else 0.0,
                     1.0 if c.glyphs is None else 0.0, 0.0])


def negative_log_likelihood(w: np.ndarray, fields, truths) -> float:
    total = 0.0
    for cands, truth in zip(fields, truths):
        if not cands:
            continue
        scores = np.array([features(c) @ w for c in cands] + [w[4]])
        top = scores.max()
        log_norm = top + np.log(np.exp(scores - top).sum())
        right = [k for k, c in enumerate(cands) if c.text == truth]
        total -= (scores[right[0]] if right else scores[-1]) - log_norm
    return total


def unasked(cands) -> list | None:
    """A field's candidates as the decision sees them without the glyph reader, where the two
    sequence readers' likeliest texts agree (else None: the glyph reader is always asked there)."""
    if not cands or any(c.strings is None or c.ppocr is None for c in cands):
        return None
    if max(cands, key=lambda c: c.strings).text != max(cands, key=lambda c: c.ppocr).text:
        return None
    return [assemble.Candidate(c.text, c.strings, c.ppocr, None, glyphs_asked=False) for c in cands]


def ppocr_unasked(cands) -> list | None:
    """A field's candidates as the decision sees them without PP-OCRv6 (on pages and in templates),
    where the glyph reader's text is the string reader's likeliest (else None: PP-OCRv6 is always
    asked there)."""
    glyphs = [c for c in cands if c.glyphs is not None]
    if not glyphs or not cands or any(c.strings is None for c in cands):
        return None
    if max(glyphs, key=lambda c: c.glyphs).text != max(cands, key=lambda c: c.strings).text:
        return None
    return [assemble.Candidate(c.text, c.strings, None, c.glyphs) for c in cands]


def decided(weights: dict, fields) -> list[tuple[str, float]]:
    """Each field as read: without the glyph reader where its sequence readers agree surely enough,
    by the decision over all three elsewhere."""
    decision = assemble.Decision({**assemble.DECISION_WEIGHTS, **weights})
    out = []
    for cands in fields:
        quick = unasked(cands)
        if quick is not None:
            chosen, p = decision(quick)
            if p >= decision.weights["skip_glyphs_above"]:
                out.append((chosen.text, p))
                continue
        out.append((lambda c, p: (c.text, p))(*decision(cands)) if cands else ("", 0.0))
    return out


def unasked_negative_log_likelihood(shift: float, weights: dict, fields, truths) -> float:
    """How unlikely the truths of the fields whose sequence readers agree are under the decision
    without the glyph reader, its term for the glyph reader not asked being ``shift``."""
    decision = assemble.Decision({**weights, "glyphs_unasked": float(shift)})
    total = 0.0
    for cands, truth in zip(fields, truths):
        quick = unasked(cands)
        if quick is not None:
            chosen, p = decision(quick)
            total -= np.log(max(1e-9, p if chosen.text == truth else 1 - p))
    return total


def report(label: str, reads, truths) -> dict:
    exact = np.array([t == r for (t, _), r in zip(reads, truths)])
    conf = np.array([p for _, p in reads])
    sure = conf >= 0.9
    order = np.argsort(-conf)
    running = np.cumsum(exact[order]) / np.arange(1, len(order) + 1)
    at_1 = int(np.max(np.flatnonzero(running >= 0.99), initial=-1) + 1)
    out = {"exact": float(exact.mean()), "sure_share": float(sure.mean()),
           "sure_exact": float(exact[sure].mean()) if sure.any() else float("nan"), "read_at_1pct": at_1 / len(exact)}
    print(f"  {label:34s} exact {out['exact']:.1%}  >=0.9: {out['sure_share']:.1%} of fields, "
          f"{out['sure_exact']:.1%} exact;  read at 1% error {out['read_at_1pct']:.1%}")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="write models/decision.json")
    args = parser.parse_args()
    sets = {name: field_candidates(name) for name in (FIT_ON, "cheque_amounts")}
    fields, truths = sets[FIT_ON]
    start = np.array([assemble.DECISION_WEIGHTS[n] for n in NAMES])
    fit = minimize(negative_log_likelihood, start, args=(fields, truths), method="Nelder-Mead",
                   options={"maxiter": 4000, "xatol": 1e-3, "fatol": 1e-3})
    weights = {n: round(float(v), 4) for n, v in zip(NAMES, fit.x)}
    shift = minimize_scalar(unasked_negative_log_likelihood, bounds=(-10, 10), method="bounded",
                            args=({**assemble.DECISION_WEIGHTS, **weights}, fields, truths)).x
    weights["glyphs_unasked"] = round(float(shift), 4)
    # our two readers alone (on pages and in templates, where they agree surely PP-OCRv6 is not asked;
    # and wherever PP-OCRv6 is not installed): their own four numbers, fitted on every field
    alone_fields = [[assemble.Candidate(c.text, c.strings, None, c.glyphs) for c in cs] for cs in fields]
    fit_alone = minimize(negative_log_likelihood, start, args=(alone_fields, truths), method="Nelder-Mead",
                         options={"maxiter": 4000, "xatol": 1e-3, "fatol": 1e-3})
    weights["without_ppocr"] = {n: round(float(v), 4) for n, v in zip(NAMES, fit_alone.x) if n != "ppocr"}
    for chosen in CHOSEN:
        weights[chosen] = assemble.DECISION_WEIGHTS[chosen]
    print("fitted:", weights)
    never = {"skip_glyphs_above": 2.0}
    alone = {"strings alone": {"strings": 1, "ppocr": 0, "glyphs": 0, "glyphs_cannot_say": 0, "none": -50, **never},
             "PP-OCRv6 alone": {"strings": 0, "ppocr": 1, "glyphs": 0, "glyphs_cannot_say": 0, "none": -50, **never}}
    results = {}
    pages_like = assemble.Decision({**assemble.DECISION_WEIGHTS, **weights})
    for set_name, (f, t) in sets.items():
        agree = [(ppocr_unasked(cs), r) for cs, r in zip(f, t) if ppocr_unasked(cs) is not None]
        sure = [(pages_like(cs), r) for cs, r in agree]
        sure = [(c.text == r) for (c, p), r in sure if p >= weights["skip_ppocr_above"]]
        print(f"{set_name}: glyph and string readers agree on {len(agree)}; sure without PP-OCRv6 on {len(sure)}, "
              f"{np.mean(sure):.1%} exact")
        print(set_name, len(t), "fields; truth among the candidates:",
              f"{np.mean([any(c.text == r for c in cs) for cs, r in zip(f, t)]):.1%}")
        for label, w in {**alone, "fitted, glyph reader always asked": {**weights, **never},
                         "fitted": weights}.items():
            results[(set_name, label)] = report(label, decided(w, f), t)
    if args.write:
        from extractor.mnist import sha256_file
        from extractor.readers import ppocr

        import importlib.metadata as meta

        readers = {"strings": {"file": "strings.keras", "sha256": sha256_file(ROOT / "models" / "strings.keras")},
                   "glyphs": {"file": "digits.keras", "sha256": sha256_file(ROOT / "models" / "digits.keras")},
                   "ppocr": {"file": f"rapidocr {meta.version('rapidocr')} wheel: {ppocr.MODEL_FILE.as_posix()}",
                             "sha256": sha256_file(ppocr.model_path()), "licence": "Apache-2.0 (PaddleOCR, RapidOCR)"}}
        card = {"weights": weights, "readers": readers, "fitted_on": f"{FIT_ON} ({len(truths)} real amount fields), maximum likelihood, "
                "Nelder-Mead, by bench/fit_decision.py", "numbers_fitted": len(NAMES) + 1 + len(NAMES) - 1,
                "chosen, not fitted": CHOSEN,
                "date": str(date.today()), "machine": f"{platform.machine()}, {platform.python_version()}",
                "exact_on_fit_set": round(results[(FIT_ON, "fitted")]["exact"], 4)}
        (ROOT / "models" / DECISION_FILE).write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
