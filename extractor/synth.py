"""Synthetic training fields for the string reader: grey images of handwritten numbers on paper,
with the digits they hold.

Real amounts and dates are written in styles MNIST lacks (flagged 1s, crossed 7s, open 4s, 9s hung
from a round loop, small chained zeros after a comma) on paper that is not white (cheque security
patterns, tinted stock, rules and box walls), and the string reader reads their grey crops as
they are. So a field is made of three digit sources, one writer per field:

- MNIST training digits (each digit another writer's, as MNIST is);
- digits rendered from free-licensed handwriting fonts (Debian ``fonts-*`` packages and npm
  ``@fontsource/*`` faces, installed by ``make fonts``; see :func:`find_fonts`);
- the project's pen-stroke model: several allographs of each digit (:data:`ALLOGRAPHS`), one
  chosen per field, drawn with one slant, width and pen;

laid out as amounts and dates are written (separators, Indian grouping, "/-", raised or chained
small trailing zeros, touching digits, a wandering baseline), then put on generated paper, beside
what the crop of a printed form catches (box walls, rules, a printed currency sign such as the
rupee sign before a cheque's amount box), with a pen from faint pencil to marker, and scanned (blur, noise, resolution, JPEG). Nothing made here is
kept: training makes its fields afresh each epoch.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import augment
from .generate import _smooth

ROOT = Path(__file__).resolve().parent.parent
#: Where ``make fonts`` puts the npm @fontsource faces.
FONTSOURCE_DIR = ROOT / "build" / "fonts" / "node_modules" / "@fontsource"
#: Debian font packages with handwriting faces, the files of each that are used and their licence
#: (from /usr/share/doc/PACKAGE/copyright) (not
#: fonts-femkeklaver, whose digits are outlines, nor fonts-ecolier-court, drawn over school rules).
DEBIAN_FONTS = {
    "fonts-dkg-handwriting": ("/usr/share/fonts/truetype/fifthhorseman/dkg*.ttf", "GPL-3+ or OFL-1.1"),
    "fonts-bwht": ("/usr/share/fonts/opentype/bwht/*.otf", "OFL-1.1"),
    "fonts-breip": ("/usr/share/fonts/truetype/breip/*.ttf", "OFL-1.0"),
    "fonts-humor-sans": ("/usr/share/fonts/truetype/humor-sans/*.ttf", "OFL-1.1"),
    "fonts-dancingscript": ("/usr/share/fonts/opentype/dancingscript/*.otf", "OFL-1.1"),
    "fonts-comic-neue": ("/usr/share/fonts/opentype/comic-neue/*.otf", "OFL-1.1"),
    "fonts-tlwg-purisa-ttf": ("/usr/share/fonts/truetype/tlwg/Purisa*.ttf", "GPL-2+ with font exception"),
    "fonts-tlwg-sawasdee-ttf": ("/usr/share/fonts/truetype/tlwg/Sawasdee*.ttf", "GPL-2+ with font exception"),
}
#: Digit sources and how often a field is written from each (the rest of a field's look does not
#: depend on its source). Without fonts installed, their share goes to the pen-stroke model.
SOURCE_SHARES = {"mnist": 0.4, "font": 0.35, "pen": 0.25}
#: Size at which font digits are rendered once, then scaled.
FONT_SIZE = 72


@dataclass(frozen=True)
class Font:
    """One handwriting face: its file, where it came from and under which licence."""

    path: str
    family: str
    source: str
    licence: str


def find_fonts(fontsource_dir: Path = FONTSOURCE_DIR) -> list[Font]:
    """The installed handwriting faces that draw all ten digits (a face missing them draws the
    same empty box for each)."""
    import glob

    found: list[Font] = []
    for package, (pattern, licence) in DEBIAN_FONTS.items():
        for path in sorted(glob.glob(pattern)):
            found.append(Font(path, Path(path).stem, f"Debian {package}", licence))
    if fontsource_dir.is_dir():
        for package in sorted(fontsource_dir.iterdir()):
            meta = package / "package.json"
            licence = json.loads(meta.read_text()).get("license", "?") if meta.is_file() else "?"
            for path in sorted((package / "files").glob("*-latin-*-normal.woff")):
                found.append(Font(str(path), package.name, f"npm @fontsource/{package.name}", licence))
    return [f for f in found if font_digits(f.path) is not None]


@functools.lru_cache(maxsize=None)
def font_digits(path: str) -> tuple[np.ndarray, ...] | None:
    """The ten digits of a face as ink (paper 0, ink 1), each cropped to its box, at FONT_SIZE;
    None when the face cannot be read or does not draw distinct digits."""
    try:
        font = ImageFont.truetype(path, FONT_SIZE)
    except OSError:
        return None
    inks = []
    for digit in "0123456789":
        canvas = Image.new("L", (FONT_SIZE * 2, FONT_SIZE * 2), 0)
        ImageDraw.Draw(canvas).text((FONT_SIZE // 2, FONT_SIZE // 4), digit, fill=255, font=font)
        ink = np.asarray(canvas, np.float32) / 255.0
        rows, cols = np.flatnonzero(ink.max(axis=1) > 0.2), np.flatnonzero(ink.max(axis=0) > 0.2)
        if rows.size < 4 or cols.size < 2:
            return None
        inks.append(ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1])
    shapes = {ink.shape for ink in inks}
    if len(shapes) == 1 and all(np.array_equal(inks[0], ink) for ink in inks[1:]):
        return None  # one box for all: the face has no digits
    return tuple(inks)


# -- the pen-stroke model -------------------------------------------------------------------------

#: Each digit's allographs: pen-stroke skeletons in a unit box (x right, y down), one list of
#: points per stroke; a name ending in "!" is drawn with straight segments (corners kept).
ALLOGRAPHS: dict[int, dict[str, list[list[tuple[float, float]]]]] = {
    0: {"oval": [[(0.5, 0.0), (0.15, 0.2), (0.1, 0.55), (0.3, 0.95), (0.7, 0.95), (0.9, 0.55), (0.85, 0.2),
                  (0.5, 0.0), (0.42, 0.06)]],
        "open top": [[(0.72, 0.06), (0.4, 0.0), (0.12, 0.3), (0.15, 0.8), (0.5, 1.0), (0.85, 0.75), (0.88, 0.3),
                      (0.62, 0.03)]],
        "overshoot": [[(0.6, 0.1), (0.3, 0.02), (0.08, 0.45), (0.3, 1.0), (0.8, 0.85), (0.9, 0.35), (0.6, 0.0),
                       (0.25, 0.12)]]},
    1: {"stick!": [[(0.5, 0.0), (0.5, 1.0)]],
        "flag!": [[(0.2, 0.3), (0.55, 0.0), (0.5, 1.0)]],
        "long flag!": [[(0.0, 0.5), (0.6, 0.0), (0.5, 1.0)]],
        "flag and foot!": [[(0.25, 0.25), (0.55, 0.0), (0.55, 1.0)], [(0.2, 1.0), (0.9, 1.0)]],
        "curved flag": [[(0.05, 0.3), (0.35, 0.12), (0.62, 0.0), (0.54, 0.5), (0.46, 1.0)]],
        # Latin America's 1: a long lead-in drawn up from near the baseline
        "lead-in!": [[(0.0, 0.8), (0.6, 0.0), (0.5, 1.0)]],
        "curved lead-in": [[(0.0, 0.95), (0.2, 0.55), (0.45, 0.15), (0.62, 0.0), (0.56, 0.5), (0.5, 1.0)]]},
    2: {"plain": [[(0.15, 0.25), (0.35, 0.03), (0.65, 0.0), (0.85, 0.22), (0.75, 0.5), (0.1, 1.0), (0.9, 0.98)]],
        "looped": [[(0.15, 0.25), (0.4, 0.0), (0.75, 0.05), (0.8, 0.3), (0.5, 0.65), (0.2, 0.95), (0.08, 0.82),
                    (0.25, 0.72), (0.4, 0.95), (0.92, 0.98)]],
        "z-like": [[(0.1, 0.15), (0.5, 0.0), (0.85, 0.2), (0.15, 1.0), (0.92, 0.97)]]},
    3: {"round": [[(0.12, 0.12), (0.45, 0.0), (0.82, 0.15), (0.75, 0.38), (0.4, 0.48), (0.85, 0.62), (0.85, 0.88),
                   (0.5, 1.0), (0.1, 0.88)]],
        "flat top": [[(0.1, 0.02), (0.85, 0.02), (0.4, 0.42), (0.8, 0.55), (0.85, 0.85), (0.5, 1.0), (0.1, 0.85)]]},
    4: {"closed!": [[(0.6, 0.0), (0.1, 0.65), (0.95, 0.65)], [(0.68, 0.3), (0.68, 1.0)]],
        "open!": [[(0.2, 0.0), (0.1, 0.6), (0.9, 0.6)], [(0.7, 0.1), (0.7, 1.0)]],
        "open slanted!": [[(0.3, 0.0), (0.05, 0.55), (0.85, 0.55)], [(0.72, 0.0), (0.6, 1.0)]],
        "one stroke!": [[(0.65, 1.0), (0.65, 0.0), (0.05, 0.65), (0.95, 0.65)]]},
    5: {"one stroke": [[(0.85, 0.0), (0.25, 0.02), (0.2, 0.45), (0.55, 0.38), (0.85, 0.6), (0.8, 0.9), (0.45, 1.0),
                        (0.12, 0.88)]],
        "flag apart": [[(0.25, 0.0), (0.2, 0.45), (0.6, 0.38), (0.85, 0.62), (0.75, 0.92), (0.4, 1.0), (0.1, 0.85)],
                       [(0.28, 0.02), (0.88, 0.0)]]},
    6: {"plain": [[(0.75, 0.0), (0.35, 0.3), (0.15, 0.7), (0.4, 1.0), (0.8, 0.85), (0.75, 0.55), (0.4, 0.5),
                   (0.18, 0.68)]],
        "big loop": [[(0.8, 0.05), (0.4, 0.1), (0.15, 0.5), (0.25, 0.95), (0.65, 1.0), (0.85, 0.75), (0.65, 0.5),
                      (0.3, 0.55), (0.15, 0.75)]]},
    7: {"plain!": [[(0.08, 0.02), (0.92, 0.0), (0.45, 1.0)]],
        "crossed!": [[(0.08, 0.02), (0.92, 0.0), (0.45, 1.0)], [(0.3, 0.5), (0.85, 0.48)]],
        "hooked!": [[(0.05, 0.22), (0.08, 0.0), (0.9, 0.02), (0.5, 1.0)]],
        "curved stem": [[(0.1, 0.05), (0.9, 0.0), (0.6, 0.45), (0.45, 1.0)]]},
    8: {"figure": [[(0.55, 0.45), (0.2, 0.25), (0.5, 0.0), (0.8, 0.22), (0.5, 0.48), (0.15, 0.75), (0.5, 1.0),
                    (0.85, 0.75), (0.55, 0.48)]],
        "from the top": [[(0.8, 0.1), (0.5, 0.0), (0.2, 0.2), (0.8, 0.75), (0.5, 1.0), (0.2, 0.75), (0.8, 0.2),
                          (0.75, 0.08)]]},
    9: {"plain": [[(0.82, 0.25), (0.5, 0.0), (0.18, 0.22), (0.45, 0.48), (0.82, 0.3), (0.8, 0.6), (0.72, 1.0)]],
        "straight stem": [[(0.8, 0.2), (0.5, 0.0), (0.18, 0.2), (0.3, 0.45), (0.8, 0.35)], [(0.82, 0.05), (0.78, 1.0)]],
        "hung from its loop": [[(0.85, 0.25), (0.5, 0.0), (0.15, 0.22), (0.45, 0.5), (0.85, 0.3), (0.62, 0.55),
                                (0.48, 0.78), (0.5, 1.0)]],
        "curled tail": [[(0.82, 0.25), (0.5, 0.0), (0.18, 0.22), (0.45, 0.48), (0.82, 0.3), (0.8, 0.65),
                         (0.65, 0.95), (0.4, 1.0), (0.22, 0.88)]],
        "round loop": [[(0.7, 0.1), (0.45, 0.0), (0.15, 0.2), (0.25, 0.45), (0.6, 0.45), (0.75, 0.2), (0.7, 0.1),
                        (0.72, 0.5), (0.6, 1.0)]]},
}


@dataclass(frozen=True)
class Writer:
    """How one field is written: the digit source and, for the pen model, its allographs, slant,
    width and pen; for fonts, the face."""

    source: str
    allographs: tuple[str, ...] = ()
    slant: float = 0.0
    width: float = 0.65
    pen: float = 0.08
    font: str = ""


def random_writer(rng: np.random.Generator, fonts: list[Font]) -> Writer:
    """A writer for one field: a source by SOURCE_SHARES, and that writer's habits."""
    shares = dict(SOURCE_SHARES)
    if not fonts:
        shares["pen"] += shares.pop("font")
    names = list(shares)
    source = names[int(rng.choice(len(names), p=np.array(list(shares.values())) / sum(shares.values())))]
    allographs = tuple(str(rng.choice(list(ALLOGRAPHS[d]))) for d in range(10))
    return Writer(source, allographs, slant=float(rng.uniform(-0.35, 0.15)), width=float(rng.uniform(0.45, 0.8)),
                  pen=float(rng.uniform(0.05, 0.13)),
                  font=fonts[int(rng.integers(len(fonts)))].path if fonts else "")


def pen_digit(digit: int, allograph: str, rng: np.random.Generator, height: float, writer: Writer) -> np.ndarray:
    """One digit drawn by the pen-stroke model in ``allograph``: ink (paper 0, ink 1) cropped to
    its box, ``height`` pixels tall, with the writer's slant, width and pen, and this digit's own
    wobble and pressure."""
    width = height * writer.width * rng.uniform(0.9, 1.1)
    slant = writer.slant + rng.uniform(-0.05, 0.05)
    pad = int(height * 0.4) + 2
    canvas = np.zeros((int(height) + 2 * pad, int(width + height * 0.6) + 2 * pad), np.float32)
    thickness = max(1.0, height * writer.pen * rng.uniform(0.85, 1.15))
    for stroke in ALLOGRAPHS[digit][allograph]:
        pts = np.array(stroke, float) + rng.normal(0, 0.035, (len(stroke), 2))
        pts = pts if allograph.endswith("!") else _smooth(pts)
        xs = pad + height * 0.3 + pts[:, 0] * width - slant * (pts[:, 1] - 0.5) * height
        ys = pad + pts[:, 1] * height
        path = np.stack([xs, ys], axis=1)
        pressure = 1.0 + 0.3 * np.sin(np.linspace(0, np.pi * rng.uniform(1, 3), len(path)) + rng.uniform(0, 6))
        for k in range(len(path) - 1):
            a, b = np.round(path[k: k + 2] * 4).astype(np.int32)
            cv2.line(canvas, tuple(a), tuple(b), 1.0, max(1, int(round(thickness * pressure[k]))), cv2.LINE_AA, shift=2)
    return _cropped(canvas)


def _cropped(ink: np.ndarray, level: float = 0.1) -> np.ndarray:
    rows, cols = np.flatnonzero(ink.max(axis=1) > level), np.flatnonzero(ink.max(axis=0) > level)
    if rows.size == 0:
        return ink[:1, :1] * 0
    return ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def _scaled(ink: np.ndarray, height: float, aspect: float = 1.0) -> np.ndarray:
    h, w = ink.shape
    new_h = max(2, int(round(height)))
    new_w = max(1, int(round(w * new_h / h * aspect)))
    return np.clip(cv2.resize(ink, (new_w, new_h), interpolation=cv2.INTER_AREA if new_h < h else cv2.INTER_LINEAR),
                   0, 1)


def digit_ink(digit: int, writer: Writer, rng: np.random.Generator, height: float,
              mnist: tuple[np.ndarray, dict] | None) -> np.ndarray:
    """One digit in the writer's hand, ``height`` pixels tall."""
    if writer.source == "mnist" and mnist is not None:
        images, by_label = mnist
        img = images[int(rng.choice(by_label[digit]))].astype(np.float32) / 255.0
        ink = _cropped(img)
        if digit in augment._STYLES and rng.random() < augment.STYLE_SHARE:  # flagged 1s, crossed 7s
            ink = _cropped(augment._STYLES[digit](np.pad(ink, 8), rng))
        return _scaled(ink, height, float(np.exp(rng.uniform(-0.15, 0.25))))
    if writer.source == "font" and writer.font:
        ink = font_digits(writer.font)[digit]
        ink = _scaled(ink, height, float(np.exp(rng.uniform(-0.1, 0.1))))
        shear = writer.slant * 0.5 + rng.uniform(-0.04, 0.04)
        return _cropped(_sheared(np.pad(ink, 2), shear))
    return pen_digit(digit, writer.allographs[digit], rng, height, writer)


def style_digit(digit: int, rng: np.random.Generator, fonts: list[Font]) -> np.ndarray:
    """One digit from a style source MNIST lacks (a handwriting font or the pen-stroke model, half
    each where fonts are installed) as MNIST holds its digits: uint8 28x28, white on black, fitted
    in 20x20 with its mass centred, for the digit model to learn from beside MNIST."""
    from .normalize import normalize_digit

    source = "font" if fonts and rng.random() < 0.5 else "pen"
    writer = random_writer(rng, fonts)
    writer = Writer(source, writer.allographs, writer.slant, writer.width, writer.pen, writer.font)
    ink = digit_ink(digit, writer, rng, float(rng.uniform(28, 48)), None)
    return np.clip(normalize_digit(ink) * 255, 0, 255).astype(np.uint8)


def _sheared(ink: np.ndarray, shear: float) -> np.ndarray:
    h, w = ink.shape
    grow = int(abs(shear) * h) + 1
    matrix = np.float32([[1, -shear, grow + shear * h / 2], [0, 1, 0]])
    return cv2.warpAffine(ink, matrix, (w + 2 * grow, h), flags=cv2.INTER_LINEAR)


# -- strings laid out as people write amounts and dates ------------------------------------------

#: How often a field has 1, 2, ... 12 digits.
_COUNT_WEIGHTS = np.array([3, 5, 8, 10, 10, 9, 8, 7, 6, 5, 4, 3], float)
_COUNT_WEIGHTS /= _COUNT_WEIGHTS.sum()


def random_digits(rng: np.random.Generator) -> str:
    """Digits as amounts and dates have them: many amounts are round (trailing zeros), dates have
    their own shape."""
    kind = rng.random()
    if kind < 0.12:  # a date
        day, month, year = rng.integers(1, 29), rng.integers(1, 13), rng.integers(1950, 2040)
        return f"{day:02d}{month:02d}{year}" if rng.random() < 0.7 else f"{day:02d}{month:02d}{year % 100:02d}"
    count = int(rng.choice(np.arange(1, 13), p=_COUNT_WEIGHTS))
    digits = [str(rng.integers(1, 10))] + [str(d) for d in rng.integers(0, 10, count - 1)]
    if count > 2 and rng.random() < 0.45:  # a round amount
        zeros = int(rng.integers(1, count))
        digits[count - zeros:] = ["0"] * zeros
    return "".join(digits)


def layout_marks(digits: str, rng: np.random.Generator) -> list[str]:
    """The digits with what writers put between and after them, as a list of tokens: digits, and
    marks '.', ',', '-', '/-', '=', '/=', '.-'."""
    tokens = list(digits)
    n = len(digits)
    r = rng.random()
    if n >= 4 and r < 0.3:  # thousands grouped with a dot or a comma
        mark = "." if rng.random() < 0.5 else ","
        tokens = _grouped(digits, mark, indian=False)
    elif n >= 6 and r < 0.42:  # Indian grouping 1,00,000
        tokens = _grouped(digits, ",", indian=True)
    elif n >= 3 and r < 0.55:  # decimals
        tokens = tokens[:-2] + [str(rng.choice([".", ","]))] + tokens[-2:]
    elif n == 8 and r < 0.65:  # a date's separators
        mark = str(rng.choice(["/", "-", "."]))
        tokens = tokens[:2] + [mark] + tokens[2:4] + [mark] + tokens[4:]
    if rng.random() < 0.4:  # an amount closed: "/-" most often
        tokens.append(str(rng.choice(["/-", "/-", "/-", "/-", "-", "=", "/=", ".-", ".", ","])))
    return tokens


def _grouped(digits: str, mark: str, indian: bool) -> list[str]:
    out: list[str] = []
    n = len(digits)
    for i, ch in enumerate(digits):
        out.append(ch)
        rest = n - 1 - i
        if rest and (rest % 3 == 0 if not indian or rest <= 3 else rest % 2 == 1):
            out.append(mark)
    return out


def mark_ink(mark: str, height: float, rng: np.random.Generator, pen: float) -> tuple[np.ndarray, float]:
    """A mark's ink for digits ``height`` high, and where its top sits (a share of the height down
    from the digits' top)."""
    size = int(height * 2.6) + 4
    canvas = np.zeros((size, size), np.float32)
    width = max(1, int(round(height * pen * rng.uniform(0.8, 1.2))))
    h = height
    if mark in (".", ","):
        r = max(1.0, h * rng.uniform(0.04, 0.09))
        c = size // 2
        cv2.circle(canvas, (c, c), int(round(r)), 1.0, -1, cv2.LINE_AA)
        if mark == ",":
            cv2.line(canvas, (c + int(r * 0.5), c), (c - int(h * 0.12), c + int(h * rng.uniform(0.2, 0.4))), 1.0,
                     width, cv2.LINE_AA)
        return _cropped(canvas), rng.uniform(0.8, 0.97)
    if mark == "-":
        length = h * rng.uniform(0.2, 0.6)
        cv2.line(canvas, (2, size // 2), (2 + int(length), size // 2 + int(rng.uniform(-0.06, 0.06) * h)), 1.0, width,
                 cv2.LINE_AA)
        return _cropped(canvas), rng.uniform(0.35, 0.65)
    if mark in ("=", ".-"):
        length = h * rng.uniform(0.25, 0.5)
        gap = int(h * rng.uniform(0.12, 0.25))
        if mark == "=":
            for dy in (0, gap):
                cv2.line(canvas, (2, 4 + dy), (2 + int(length), 4 + dy), 1.0, width, cv2.LINE_AA)
        else:
            cv2.circle(canvas, (3, 4 + gap * 2), max(1, width), 1.0, -1, cv2.LINE_AA)
            cv2.line(canvas, (3 + 2 * width, 4), (3 + 2 * width + int(length), 4), 1.0, width, cv2.LINE_AA)
        return _cropped(canvas), rng.uniform(0.3, 0.55)
    if mark == "/":
        lean = h * rng.uniform(0.25, 0.5)
        cv2.line(canvas, (2, int(h)), (2 + int(lean), 2), 1.0, width, cv2.LINE_AA)
        return _cropped(canvas), rng.uniform(-0.05, 0.1)
    # "/-" and "/=": a slash (leaning well past a 1, or nearly upright and tall), then a dash (or
    # two) through it, from its foot, or after a gap
    tall = h * rng.uniform(0.6, 1.2)
    lean = tall * (rng.uniform(0.35, 0.9) if rng.random() < 0.7 else rng.uniform(0.0, 0.25))
    cv2.line(canvas, (2, int(tall)), (2 + int(lean), 2), 1.0, width, cv2.LINE_AA)
    y = int(tall * rng.uniform(0.35, 0.9))
    dash = [y] if mark == "/-" else [y - int(h * 0.1), y + int(h * 0.1)]
    start = 2 + int(lean * rng.uniform(0.3, 0.7)) if rng.random() < 0.6 else 2 + int(lean + h * rng.uniform(0.1, 0.6))
    length = h * (rng.uniform(0.2, 0.45) if rng.random() < 0.6 else rng.uniform(0.45, 1.0))
    for yy in dash:
        end = min(size - 2, start + int(length))
        cv2.line(canvas, (start, yy), (end, yy + int(h * rng.uniform(-0.08, 0.08))), 1.0, width, cv2.LINE_AA)
    return _cropped(canvas), rng.uniform(-0.05, 0.3)


def written_field(digits: str, writer: Writer, rng: np.random.Generator, height: float,
                  mnist: tuple[np.ndarray, dict] | None) -> np.ndarray:
    """A field's ink (paper 0, ink 1): ``digits`` in the writer's hand, ``height`` pixels tall,
    laid out with marks, joined or apart, small raised or chained trailing zeros now and then."""
    tokens = layout_marks(digits, rng)
    digit_positions = [i for i, t in enumerate(tokens) if t.isdigit()]
    small_from = len(tokens)
    if len(digit_positions) >= 3 and rng.random() < 0.2:  # the last zeros or cents written small
        tail = 0
        for i in reversed(digit_positions):
            if tokens[i] != "0" and tail >= 2:
                break
            tail += 1
            if tail == 3 or (tail >= 2 and rng.random() < 0.5):
                break
        small_from = digit_positions[-tail]
    small_scale, small_raise = rng.uniform(0.45, 0.8), rng.uniform(0.0, 0.45)
    joined = rng.random() < 0.45
    baseline_wander = rng.uniform(0, 0.08)
    pieces: list[tuple[np.ndarray, float, float]] = []  # ink, gap before it, top (share of height)
    for i, token in enumerate(tokens):
        if token.isdigit():
            small = i >= small_from
            h = height * rng.uniform(0.88, 1.12) * (small_scale if small else 1.0)
            ink = digit_ink(int(token), writer, rng, h, mnist)
            if rng.random() < 0.06:
                ink = _cropped(augment._ligature(np.pad(ink, int(height // 2)), rng))
            top = 1.0 - ink.shape[0] / height + rng.uniform(-baseline_wander, baseline_wander)
            if small:
                top -= small_raise * (1 - small_scale)
            chained = small and i > small_from
            if i == 0:
                gap = 0.0
            elif chained or (joined and rng.random() < 0.8):
                gap = height * rng.uniform(-0.25, 0.03)
            else:
                gap = height * rng.uniform(0.03, 0.45)
        else:
            ink, top = mark_ink(token, height, rng, writer.pen)
            gap = height * rng.uniform(-0.05, 0.3)
        pieces.append((ink, gap, top))
    pad = int(height // 2) + 2
    xs, x = [], pad
    for ink, gap, _ in pieces:
        x = max(pad - int(height * 0.2), x + int(round(gap)))
        xs.append(x)
        x += ink.shape[1]
    canvas = np.zeros((int(height * 1.8) + 2 * pad, x + pad), np.float32)
    for x0, (ink, _, top) in zip(xs, pieces):
        y0 = min(max(0, pad + int(round(top * height))), canvas.shape[0] - ink.shape[0])
        view = canvas[y0: y0 + ink.shape[0], x0: x0 + ink.shape[1]]
        np.maximum(view, ink[: view.shape[0], : view.shape[1]], out=view)
    if rng.random() < 0.15:  # the amount underlined, or struck through at its end
        y = int(pad + height * rng.uniform(1.0, 1.15))
        cv2.line(canvas, (pad, y), (x - int(rng.uniform(0, 0.3) * (x - pad)), y + int(rng.uniform(-3, 3))), 1.0,
                 max(1, int(height * writer.pen)), cv2.LINE_AA)
    rotate = np.deg2rad(rng.uniform(-4, 4))
    h, w = canvas.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), np.rad2deg(rotate), 1.0)
    return _cropped(cv2.warpAffine(canvas, matrix, (w, h), flags=cv2.INTER_LINEAR))


# -- paper, pen and scan --------------------------------------------------------------------------

def paper(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Generated paper (grey levels, float): plain or tinted, with a gradient, and now and then a
    cheque's security pattern (guilloche curves, tiled small print), a texture, rules."""
    h, w = shape
    level = rng.uniform(150, 250) if rng.random() < 0.6 else rng.uniform(200, 252)
    out = np.full(shape, level, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if rng.random() < 0.5:  # light falling off, tint changing across the cheque
        out += rng.uniform(-25, 25) * (xx / max(w, 1) - 0.5) + rng.uniform(-15, 15) * (yy / max(h, 1) - 0.5)
    kind = rng.random()
    if kind < 0.35:  # guilloche: families of fine wavy lines
        for _ in range(int(rng.integers(1, 4))):
            period = rng.uniform(3, 12)
            amp, freq = rng.uniform(2, 15), rng.uniform(0.01, 0.08)
            angle = rng.uniform(-0.6, 0.6)
            phase = np.sin(xx * freq + rng.uniform(0, 6)) * amp + yy * np.cos(angle) + xx * np.sin(angle)
            lines = (np.abs(((phase / period) % 1.0) - 0.5) < rng.uniform(0.06, 0.18)).astype(np.float32)
            out -= cv2.GaussianBlur(lines, (0, 0), 0.6) * rng.uniform(8, 45)
    elif kind < 0.5:  # tiled small print (a bank's name)
        tile = np.zeros(shape, np.uint8)
        size = rng.uniform(0.3, 0.6)
        step_y = int(rng.integers(8, 18))
        text = "".join(rng.choice(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ "), 12))
        for y in range(step_y, h + step_y, step_y):
            cv2.putText(tile, text * 4, (int(-rng.integers(0, 40)), y), cv2.FONT_HERSHEY_SIMPLEX, size, 255, 1,
                        cv2.LINE_AA)
        out -= tile.astype(np.float32) / 255.0 * rng.uniform(10, 50)
    elif kind < 0.65:  # a texture: smoothed noise, or dots
        if rng.random() < 0.5:
            noise = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), rng.uniform(1, 4))
            out += noise / (noise.std() + 1e-6) * rng.uniform(4, 15)
        else:
            dots = (rng.random(shape) < rng.uniform(0.01, 0.05)).astype(np.float32)
            out -= cv2.GaussianBlur(dots, (0, 0), 0.7) * rng.uniform(30, 90)
    return out


#: Faces with the currency signs printed before amount boxes (DejaVu, Debian fonts-dejavu-core,
#: Bitstream Vera licence); without them the signs are drawn with OpenCV's Hershey face.
PRINTED_FACES = "/usr/share/fonts/truetype/dejavu/DejaVu*.ttf"
#: Printed signs before an amount and how often each is the one: the rupee sign of Indian cheques
#: first, since a reader that never saw it reads it as a 7 or a 9.
PRINTED_SIGNS = {"\u20b9": 0.5, "$": 0.15, "Rs.": 0.1, "\u20ac": 0.05, "#": 0.1, "*": 0.1}
#: Share of fields whose crop catches a printed sign before the writing.
PRINTED_SIGN_SHARE = 0.3
#: Share of fields cut as a template cuts an amount: the whole printed box about the writing,
#: with what the crop catches beside and above it.
PRINTED_BOX_SHARE = 0.2


@functools.lru_cache(maxsize=None)
def printed_faces() -> tuple[str, ...]:
    """The installed faces that print every sign of PRINTED_SIGNS."""
    import glob

    faces = []
    for path in sorted(glob.glob(PRINTED_FACES)):
        try:
            font = ImageFont.truetype(path, 40)
        except OSError:
            continue
        missing = np.asarray(font.getmask("\ue000"))  # a private-use point: the face's "no glyph" box
        if all(not np.array_equal(np.asarray(font.getmask(sign)), missing) for sign in PRINTED_SIGNS):
            faces.append(path)
    return tuple(faces)


def printed_sign(height: float, rng: np.random.Generator) -> np.ndarray:
    """A printed currency sign's ink (paper 0, ink 1), about ``height`` pixels tall."""
    sign = str(rng.choice(list(PRINTED_SIGNS), p=np.array(list(PRINTED_SIGNS.values()))))
    size = max(8, int(height))
    faces = printed_faces()
    canvas = Image.new("L", (size * 4, size * 2), 0)
    if faces:
        font = ImageFont.truetype(faces[int(rng.integers(len(faces)))], size)
        ImageDraw.Draw(canvas).text((size // 4, size // 4), sign, fill=255, font=font)
    else:
        ink = np.zeros((size * 2, size * 4), np.uint8)
        cv2.putText(ink, "Rs" if sign == "\u20b9" else sign, (size // 4, size * 3 // 2), cv2.FONT_HERSHEY_SIMPLEX,
                    size / 30.0, 255, max(1, size // 15), cv2.LINE_AA)
        canvas = Image.fromarray(ink)
    ink = np.asarray(canvas, np.float32) / 255.0
    if rng.random() < 0.5:  # printed bold, as cheques print the sign before the amount
        ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, size // 12) | 1,) * 2))
    return _scaled(_cropped(ink), height)


def printed_text(height: float, rng: np.random.Generator) -> np.ndarray:
    """A few printed letters' ink (paper 0, ink 1), ``height`` pixels tall: the form's words
    beside a box."""
    size = max(8, int(height))
    word = "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPRSTUVWY"), int(rng.integers(2, 7))))
    canvas = Image.new("L", (size * (len(word) + 2), size * 2), 0)
    faces = printed_faces()
    if faces:
        font = ImageFont.truetype(faces[int(rng.integers(len(faces)))], size)
        ImageDraw.Draw(canvas).text((size // 4, size // 4), word, fill=255, font=font)
    else:
        ink = np.zeros((size * 2, size * (len(word) + 2)), np.uint8)
        cv2.putText(ink, word, (size // 4, size * 3 // 2), cv2.FONT_HERSHEY_SIMPLEX, size / 30.0, 255, max(1, size // 15))
        canvas = Image.fromarray(ink)
    return _scaled(_cropped(np.asarray(canvas, np.float32) / 255.0), height)


def words_above(width: int, height: float, rng: np.random.Generator, fonts: list[Font]) -> np.ndarray:
    """Handwritten words' ink (paper 0, ink 1) ``width`` wide: the amount in words on the line
    above a box, whose feet a crop of the box catches."""
    size = max(8, int(height))
    canvas = Image.new("L", (width + 4 * size, size * 2), 0)
    word = " ".join(rng.choice(["and", "only", "lakh", "thousand", "rupees", "hundred", "crore", "fifty", "mil",
                                "reais", "cinco", "dollars"], 3))
    try:
        face = ImageFont.truetype(fonts[int(rng.integers(len(fonts)))].path, size) if fonts else None
    except OSError:
        face = None
    if face is None:
        return np.zeros((size, width), np.float32)
    ImageDraw.Draw(canvas).text((int(rng.integers(0, 2 * size)), size // 4), word, fill=255, font=face)
    return np.asarray(canvas, np.float32)[:, :width] / 255.0


def printed_box(image: np.ndarray, rng: np.random.Generator, ink_box: tuple[int, int, int, int],
                sign: np.ndarray | None, fonts: list[Font]) -> None:
    """The printed box a template's crop of an amount holds, drawn in place: its four walls about
    the writing, the sign inside it right after its left wall (or before it), the form's printed
    words cut by the crop's left edge, and the feet of the words written on the line above."""
    h, w = image.shape
    x0, y0, x1, y1 = ink_box
    size = y1 - y0
    dark = float(rng.uniform(20, 120))
    thick = int(rng.integers(1, 4))
    top = max(0, int(y0 - size * rng.uniform(0.05, 0.3)))
    bottom = min(h - 1, int(y1 + size * rng.uniform(0.05, 0.3)))
    right = min(w - 1, int(x1 + size * rng.uniform(0.1, 1.0)))
    left = int(x0 - size * rng.uniform(0.1, 0.4))
    if sign is not None:
        sh, sw = sign.shape
        sx = left - sw - int(size * rng.uniform(0.0, 0.2))
        sy = int(np.clip((top + bottom) / 2 - sh / 2 + rng.uniform(-0.1, 0.1) * sh, 0, max(0, h - sh)))
        if rng.random() < 0.5:  # a wall between the sign and the writing
            cv2.line(image, (left, top), (left, bottom), dark, thick)
        left = sx - int(size * rng.uniform(0.05, 0.3))
        view = image[sy: sy + sh, max(0, sx): max(0, sx + sw)]
        part = sign[: view.shape[0], sw - view.shape[1]:]
        view[:] = view * (1 - part) + dark * part
    left = max(0, left)
    cv2.rectangle(image, (left, top), (right, bottom), dark, thick)
    if left > size // 4 and rng.random() < 0.7:  # the form's words before the box, cut by the crop
        text = printed_text(size * rng.uniform(0.3, 0.7), rng)
        th, tw = text.shape
        tx = left - int(size * rng.uniform(0.05, 0.3)) - tw
        ty = int(np.clip((top + bottom) / 2 - th / 2, 0, max(0, h - th)))
        view = image[ty: ty + th, max(0, tx): max(0, tx + tw)]
        part = text[: view.shape[0], tw - view.shape[1]:]
        if view.size:
            view[:] = view * (1 - part) + dark * part
    if top > 0 and rng.random() < 0.5:  # the words written above the box, their feet or more
        words = words_above(w, size * rng.uniform(0.6, 1.0), rng, fonts)
        rows = np.flatnonzero(words.max(axis=1) > 0.1)
        if rows.size:
            words = words[rows[0]: rows[-1] + 1]
            shown = min(top, max(1, int(words.shape[0] * rng.uniform(0.25, 1.0))))
            level = float(rng.uniform(0, 90))
            view = image[top - shown: top]
            view[:] = view * (1 - words[-shown:]) + level * words[-shown:]


def printed_parts(image: np.ndarray, rng: np.random.Generator, ink_box: tuple[int, int, int, int],
                  sign: np.ndarray | None = None) -> None:
    """Printed marks a field crop often catches, drawn in place: box walls at its edges, a ruled
    line under the writing, and ``sign`` (printed_sign) before it, with the box's wall between them
    or not, and at times cut by the crop's edge."""
    h, w = image.shape
    x0, y0, x1, y1 = ink_box
    dark = rng.uniform(20, 120)
    if rng.random() < 0.25:  # a ruled line under the writing (may run through its feet)
        y = int(min(h - 1, y1 + rng.uniform(-0.1, 0.15) * (y1 - y0)))
        cv2.line(image, (0, y), (w, y), float(dark), int(rng.integers(1, 3)))
    if rng.random() < 0.15:  # box walls caught at the crop's edges
        for x in ([0, w - 1] if rng.random() < 0.5 else [int(rng.choice([0, w - 1]))]):
            cv2.line(image, (x, 0), (x, h), float(dark), int(rng.integers(1, 3)))
    if sign is None:
        return
    sh, sw = sign.shape
    right = x0 - int((y1 - y0) * rng.uniform(0.1, 0.5))
    if rng.random() < 0.5:  # the amount box's wall between the sign and the writing
        wall = right + int((x0 - right) * rng.uniform(0.2, 0.8))
        cv2.line(image, (wall, 0), (wall, h), float(dark), int(rng.integers(1, 3)))
    left = right - sw
    if rng.random() < 0.25:  # the sign cut by the crop's left edge
        left = min(left, -int(sw * rng.uniform(0.1, 0.6)))
    top = int(np.clip((y0 + y1) / 2 - sh / 2 + rng.uniform(-0.15, 0.15) * sh, 0, max(0, h - sh)))
    view = image[top: top + sh, max(0, left): max(0, left + sw)]
    part = sign[: view.shape[0], sw - view.shape[1]:]
    view[:] = view * (1 - part) + dark * part


def field_image(digits: str, rng: np.random.Generator, fonts: list[Font],
                mnist: tuple[np.ndarray, dict] | None) -> np.ndarray:
    """One grey field image (uint8, paper light, ink dark) holding ``digits``, as a field crop
    cut from a scan or a phone photo looks."""
    writer = random_writer(rng, fonts)
    height = rng.uniform(30, 60)
    ink = written_field(digits, writer, rng, height, mnist)
    if rng.random() < 0.2:  # a fine pen or a worn one: thinner strokes
        thinner = cv2.erode(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
        ink = thinner if thinner.max() > 0.5 else ink
    elif rng.random() < 0.15:  # a marker
        ink = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    ih, iw = ink.shape
    top, bottom = (int(ih * rng.uniform(0.0, 0.35)) for _ in range(2))
    left, right = (int(ih * rng.uniform(0.0, 0.6)) for _ in range(2))
    sign = printed_sign(height * rng.uniform(0.6, 1.3), rng) if rng.random() < PRINTED_SIGN_SHARE else None
    boxed = rng.random() < PRINTED_BOX_SHARE
    if boxed:  # a template's crop: the whole printed box and a margin about it
        top, bottom = (int(ih * rng.uniform(0.2, 0.7)) for _ in range(2))
        left, right = int(ih * rng.uniform(0.5, 1.2)), int(ih * rng.uniform(0.3, 1.5))
    if sign is not None:
        left += int(sign.shape[1] + height * rng.uniform(0.0, 0.5))
    shape = (ih + top + bottom, iw + left + right)
    sheet = paper(shape, rng)
    if boxed:
        printed_box(sheet, rng, (left, top, left + iw, top + ih), sign, fonts)
    else:
        printed_parts(sheet, rng, (left, top, left + iw, top + ih), sign)
    alpha = np.zeros(shape, np.float32)
    alpha[top: top + ih, left: left + iw] = ink
    if rng.random() < 0.3:  # a pen running dry or a pencil: the ink's darkness varies along it
        fade = cv2.resize(rng.uniform(0.35, 1.0, (2, 4)).astype(np.float32), (shape[1], shape[0]),
                          interpolation=cv2.INTER_CUBIC)
        alpha *= np.clip(fade, 0.2, 1.0)
    ink_level = rng.uniform(0, 90) if rng.random() < 0.75 else rng.uniform(60, 140)  # pen, or pencil
    ink_level = min(ink_level, float(np.median(sheet)) - 60)  # at least as dark as a faint pencil
    opacity = rng.uniform(0.7, 1.0)
    image = sheet * (1 - alpha * opacity) + ink_level * alpha * opacity
    image = scanned(image, rng)
    return image


def scanned(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A field as a scanner or a camera gives it: blurred, at its own resolution, noisy, JPEG."""
    if rng.random() < 0.6:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.3))
    h, w = image.shape
    target = rng.uniform(28, 80)
    if target < h:
        image = cv2.resize(image, (max(4, int(round(w * target / h))), int(round(target))), interpolation=cv2.INTER_AREA)
    image = image + rng.normal(0, rng.uniform(0, 7), image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return image


def mnist_by_label(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, dict]:
    """MNIST images with, for each digit, the indices of its images: a digit source."""
    return images, {d: np.flatnonzero(labels == d) for d in range(10)}


def training_field(rng: np.random.Generator, fonts: list[Font],
                   mnist: tuple[np.ndarray, dict] | None) -> tuple[np.ndarray, str]:
    """One synthetic field image and its digits."""
    digits = random_digits(rng)
    return field_image(digits, rng, fonts, mnist), digits


def sample_sheet(path: Path, count: int = 40, seed: int = 0, mnist: tuple[np.ndarray, dict] | None = None) -> None:
    """A PNG of ``count`` training fields with their digits, to look at what the reader learns from."""
    rng = np.random.default_rng(seed)
    fonts = find_fonts()
    rows = []
    for _ in range(count):
        image, digits = training_field(rng, fonts, mnist)
        h = 48
        image = cv2.resize(image, (max(1, int(image.shape[1] * h / image.shape[0])), h))[:, :360]
        row = np.full((h + 14, 360), 255, np.uint8)
        row[:h, : image.shape[1]] = image
        cv2.putText(row, digits, (2, h + 11), cv2.FONT_HERSHEY_PLAIN, 0.8, 0, 1)
        rows.append(row)
    half = (len(rows) + 1) // 2
    left, right = np.vstack(rows[:half]), np.vstack(rows[half:] + [np.full_like(rows[0], 255)] * (2 * half - len(rows)))
    cv2.imwrite(str(path), np.hstack([left, np.full((left.shape[0], 8), 255, np.uint8), right]))
