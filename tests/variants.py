"""The shipped sample forms as offices and phones send them, made at test time (never committed):
turned, stored sideways with an EXIF orientation, WebP, Group 4 TIFF, a phone photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from extractor.generate import photographed as phone_photo
from extractor.pages import load_pages

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "forms"


def sample_pages() -> dict[str, np.ndarray]:
    """Each sample form's page as grey pixels, by the stem of its file."""
    return {path.stem: load_pages(path)[0].image for path in sorted(SAMPLES.iterdir())}


def turned(image: np.ndarray, quarter_turns: int) -> np.ndarray:
    """The page scanned turned by 90 degrees counter-clockwise this many times."""
    return np.ascontiguousarray(np.rot90(image, quarter_turns))


def write_variants(folder: Path, rng: np.random.Generator) -> dict[str, Path]:
    """A folder per variant, each holding the three sample forms in that form; and a stray
    notes.txt in the first."""
    pages = sample_pages()
    made = {}
    for variant in ("exif_sideways", "turned_90", "turned_180", "turned_270", "webp", "phone", "g4_tiff"):
        out = folder / variant
        out.mkdir(parents=True, exist_ok=True)
        for stem, image in pages.items():
            if variant == "exif_sideways":  # stored turned, the EXIF tag saying how to show it upright
                exif = Image.Exif()
                exif[0x0112] = 6  # rotate 90 degrees clockwise to show
                Image.fromarray(turned(image, 1)).save(out / f"{stem}.jpg", quality=90, exif=exif)
            elif variant.startswith("turned_"):
                Image.fromarray(turned(image, int(variant[7:]) // 90)).save(out / f"{stem}.png")
            elif variant == "webp":
                Image.fromarray(image).save(out / f"{stem}.webp", quality=90)
            elif variant == "phone":
                Image.fromarray(phone_photo(image, rng)).save(out / f"{stem}.jpg", quality=95)
            else:
                Image.fromarray(image).convert("1").save(out / f"{stem}.tif", compression="group4", dpi=(300, 300))
        made[variant] = out
    (made["exif_sideways"] / "notes.txt").write_text("scanned by the front desk\n")
    return made


def expected_found(frame, expected) -> int:
    """How many of the expected strings (samples/expected.csv) the frame read, by the stem of each
    source, each read string counting once."""
    from collections import Counter

    found = 0
    for stem, want in expected.groupby(expected["source"].map(lambda s: Path(s).stem)):
        got = Counter(frame[frame["source"].map(lambda s: Path(s).stem) == stem]["text"])
        for text in want["text"]:
            if got[text] > 0:
                got[text] -= 1
                found += 1
    return found
