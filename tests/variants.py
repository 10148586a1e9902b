"""The shipped sample forms as offices and phones send them, made at test time (never committed):
turned, stored sideways with an EXIF orientation, WebP, Group 4 TIFF, a phone photo."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from extractor.pages import load_pages

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "forms"


def sample_pages() -> dict[str, np.ndarray]:
    """Each sample form's page as grey pixels, by the stem of its file."""
    return {path.stem: load_pages(path)[0].image for path in sorted(SAMPLES.iterdir())}


def turned(image: np.ndarray, quarter_turns: int) -> np.ndarray:
    """The page scanned turned by 90 degrees counter-clockwise this many times."""
    return np.ascontiguousarray(np.rot90(image, quarter_turns))


def phone_photo(image: np.ndarray, rng: np.random.Generator, scale: float = 2 / 3) -> np.ndarray:
    """The page photographed by a phone: at two thirds of the resolution, on a darker table, each
    corner pulled in by up to 8% of the page, the light falling off to 60% across it."""
    page = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    h, w = page.shape
    margin = int(0.12 * max(h, w))
    H, W = h + 2 * margin, w + 2 * margin
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    pull = rng.uniform(0.0, 0.08, (4, 2)) * [w, h] * [[1, 1], [-1, 1], [-1, -1], [1, -1]]
    target = corners + margin + pull.astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    table = cv2.GaussianBlur(rng.normal(95, 20, (H, W)).astype(np.float32), (0, 0), 6)
    warped = cv2.warpPerspective(page, matrix, (W, H), flags=cv2.INTER_LINEAR, borderValue=-1)
    photo = np.where(warped >= 0, warped, table)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = 1.0 - 0.4 * np.clip((xx / W) * 0.7 + (yy / H) * 0.3, 0, 1)  # 100% at one corner, 60% at the other
    photo = np.clip(photo * light + rng.normal(0, 3, photo.shape), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


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
