"""Regenerate samples/: form pages handwritten by the project's own pen-stroke model (no MNIST
pixels), as PNG, JPEG and PDF, with samples/expected.csv. Run: python bench/make_samples.py"""

from pathlib import Path

import numpy as np
import pandas as pd

from extractor import generate

ROOT = Path(__file__).resolve().parent.parent


def main():
    rng = np.random.default_rng(2026)
    draw = generate.stroke_digit_source()
    rows = []
    for number, suffix in enumerate([".png", ".jpg", ".pdf"], start=1):
        page = generate.form_page(rng, draw, fields=8, touching=0.0)
        image = generate.scan(page.image, rng, skew=1.5, jpeg=suffix == ".jpg", grain=0)
        name = f"form_{number}{suffix}"
        generate.save_page(image, ROOT / "samples" / "forms" / name)
        rows += [{"source": name, "page": 1, "field": t.field, "text": t.text} for t in page.truth]
    pd.DataFrame(rows).to_csv(ROOT / "samples" / "expected.csv", index=False)


if __name__ == "__main__":
    main()
