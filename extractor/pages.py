"""Finding inputs and loading them as pages: PNG, JPEG, TIFF, BMP, WebP, GIF, HEIC (every frame of
each) and PDF (every page).

A page is the unit of work: ``Page(source, number, image, dpi)`` with ``image`` an 8-bit array, grey
or colour, upright as a viewer shows it (its EXIF orientation applied). Anything that cannot be read
raises :class:`InputError` with one line that says why, so the batch can record it and go on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from .errors import InputError, MissingDependency
from .model import stderr_silenced

try:  # HEIC/HEIF (iPhone photos), through the pillow-heif plugin, an install dependency
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - a broken install: HEIC files get an error row naming it
    register_heif_opener = None
else:
    register_heif_opener()

HEIF_SUFFIXES = {".heic", ".heif"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"} | HEIF_SUFFIXES
PDF_SUFFIXES = {".pdf"}
#: The EXIF tag that says how a photo must be turned to be shown upright.
EXIF_ORIENTATION = 0x0112
#: A resolution below this in a file is a screen's default (cameras and editors write 72 or 96),
#: not a scan's: such a page is taken as of unknown resolution.
MIN_SCAN_DPI = 100


def file_dpi(info: dict) -> float | None:
    """The scan resolution an image file states, or None when it states none that is plausible.

    >>> file_dpi({"dpi": (300, 300)}), file_dpi({"dpi": (72, 72)}), file_dpi({})
    (300.0, None, None)
    """
    dpi = info.get("dpi", (None,))[0]
    return float(dpi) if dpi and float(dpi) >= MIN_SCAN_DPI else None
#: Largest page accepted, in pixels: a letter page at 600 dpi is 34 MP; 200 MP would exhaust memory.
MAX_PIXELS = 120_000_000
#: Smallest page side that can hold a digit, in pixels.
MIN_SIDE = 8
#: PDF pages are rendered at this many dpi unless told otherwise.
DEFAULT_DPI = 300
#: A page image without a resolution in its file is taken to be scanned at this many dpi.
ASSUMED_DPI = 300

# Pillow's own guard warns at MAX_IMAGE_PIXELS and raises at twice that; ours is checked first.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class Page:
    """One page of one input: ``source`` as the user names it, ``number`` from 1, ``image`` 8-bit
    grey (h, w) or colour (h, w, 3)."""

    source: str
    number: int
    image: np.ndarray
    dpi: float | None = None


@dataclass(frozen=True)
class Input:
    """One file to read (``path``), or one that cannot even be listed (``error``)."""

    path: Path
    source: str
    error: str = ""


@dataclass(frozen=True)
class Inputs:
    """What a search of the given files and folders found: the inputs to read, and the files in
    the folders that are neither images nor PDFs, skipped but named (``skipped``)."""

    items: list[Input]
    skipped: list[str]


def _source_name(path: Path, root: Path | None) -> str:
    name = str(path.relative_to(root)) if root is not None else str(path)
    return os.fsdecode(name).encode("utf-8", "replace").decode("utf-8")


def find_inputs(paths: list[str | os.PathLike]) -> Inputs:
    """Every image and PDF under the given files and folders, recursively, in a stable order.

    Files given by name are taken whatever their suffix; in folders only known suffixes are taken,
    and the other files are listed as skipped. Unreadable folders and symlink loops become error
    entries instead of stopping the search.
    """
    found: list[Input] = []
    skipped: list[str] = []
    for given in paths:
        root = Path(given)
        if root.is_dir():
            seen: set[tuple[int, int]] = set()

            def onerror(exc: OSError, root=root):
                where = Path(exc.filename) if exc.filename else root
                found.append(Input(where, _source_name(where, root) if where != root else str(root),
                                   f"cannot read folder: {exc.strerror or exc}"))

            for folder, dirs, files in os.walk(root, onerror=onerror, followlinks=True):
                try:
                    st = os.stat(folder)
                except OSError:
                    dirs[:] = []
                    continue
                if (st.st_dev, st.st_ino) in seen:  # a symlink loop: already walked
                    dirs[:] = []
                    continue
                seen.add((st.st_dev, st.st_ino))
                dirs.sort()
                for name in sorted(files):
                    path = Path(folder) / name
                    if path.suffix.lower() in IMAGE_SUFFIXES | PDF_SUFFIXES:
                        found.append(Input(path, _source_name(path, root)))
                    else:
                        skipped.append(_source_name(path, root))
                # Folders named like images (scan.png/) are walked as folders, never read as files.
        elif root.exists() or root.is_symlink():
            found.append(Input(root, _source_name(root, None)))
        else:
            found.append(Input(root, _source_name(root, None), "no such file or folder"))
    return Inputs(found, skipped)


def to_pixels(image: Image.Image) -> np.ndarray:
    """An 8-bit array of any Pillow image, grey (h, w) or colour (h, w, 3): 16-bit scaled down,
    transparency laid on white paper. Colour is kept for cleaning to choose the grey from.

    >>> to_pixels(Image.new("RGBA", (2, 1), (0, 0, 0, 0))).tolist()
    [[[255, 255, 255], [255, 255, 255]]]
    """
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float64)
        if mode.startswith("I;16"):
            arr = arr / 257.0
        else:
            low, high = float(arr.min()), float(arr.max())
            arr = (arr - low) * (255.0 / (high - low)) if high > low else np.full(arr.shape, 255.0)
        return np.clip(np.round(arr), 0, 255).astype(np.uint8)
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA"):
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, image.convert("RGBA"))
        mode = "RGB" if mode in ("RGBA", "PA") else "L"
    if mode in ("RGB", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    return np.asarray(image.convert("L"), dtype=np.uint8).copy()


def _check_size(width: int, height: int, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise InputError(f"{what} is {width}x{height} ({width * height / 1e6:.0f} megapixels); "
                         f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels: scan at a lower dpi")
    if min(width, height) < MIN_SIDE:
        raise InputError(f"{what} is {width}x{height} pixels, too small to hold a digit")


@contextlib.contextmanager
def image_errors():
    """Turn whatever Pillow raises on a bad image into a one-line InputError."""
    try:
        yield
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError("not an image that can be read (unknown format or corrupt header)") from None
    except Image.DecompressionBombError as exc:
        raise InputError(f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"corrupt or truncated image: {exc}") from None
    except MemoryError:
        raise InputError("image too large to hold in memory") from None


def upright(frame: Image.Image) -> Image.Image:
    """The frame turned and mirrored as its EXIF orientation tag says a viewer shows it (a phone
    stores a photo as its sensor saw it, and a tag saying which way is up)."""
    if frame.getexif().get(EXIF_ORIENTATION, 1) in (None, 1):
        return frame
    return ImageOps.exif_transpose(frame)


def _check_heif(path: Path) -> None:
    if path.suffix.lower() in HEIF_SUFFIXES and register_heif_opener is None:
        raise InputError("reading HEIC/HEIF photos needs the Python package pillow-heif: pip install pillow-heif")


def _load_image(path: Path, source: str, only: int | None = None) -> list[Page]:
    _check_heif(path)
    with image_errors():
        with Image.open(path) as image:
            if image.format == "PNG" and image.mode in ("L", "RGB") and only in (None, 1):
                _check_size(image.width, image.height, "image")
                pixels = _decoded_png(path) if png_orientation(path) == 1 else None
                if pixels is not None:
                    return [Page(source, 1, pixels, file_dpi(image.info))]
            pages = []
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                if only is not None and number != only:
                    continue
                _check_size(frame.width, frame.height, "image" if number == 1 else f"frame {number}")
                frame.load()
                pages.append(Page(source, number, to_pixels(upright(frame)), file_dpi(frame.info)))
            return pages


def png_orientation(path: Path) -> int:
    """The EXIF orientation a PNG's eXIf chunk gives (1, upright, where it has none), found by
    walking the chunks' headers: Pillow decodes the whole image to look for it, which took as long
    as reading the page itself."""
    with open(path, "rb") as f:
        if f.read(8) != b"\x89PNG\r\n\x1a\n":
            return 1
        while len(head := f.read(8)) == 8:
            length, kind = struct.unpack(">I4s", head)
            if kind == b"eXIf":
                exif = Image.Exif()
                exif.load(f.read(length))
                return int(exif.get(EXIF_ORIENTATION) or 1)
            if kind == b"IEND":
                break
            f.seek(length + 4, os.SEEK_CUR)  # the chunk's data and its CRC
    return 1


def _decoded_png(path: Path) -> np.ndarray | None:
    """An 8-bit grey or RGB PNG decoded by OpenCV, a third faster than Pillow on a 300-dpi page;
    None when OpenCV cannot read it (Pillow then says why, in one line). libpng's own complaint
    about a damaged file is kept off stderr."""
    with stderr_silenced():
        pixels = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint8 or not (pixels.ndim == 2 or pixels.shape[2] == 3):
        return None
    return pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def pdf_page_count(path: Path) -> int:
    """Number of pages of a PDF, via poppler's pdfinfo."""
    from pdf2image import pdfinfo_from_path
    from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError

    if shutil.which("pdfinfo") is None or shutil.which("pdftoppm") is None:
        raise MissingDependency("reading PDFs needs poppler's pdftoppm and pdfinfo: "
                                "install the Debian package poppler-utils")
    try:
        info = pdfinfo_from_path(str(path))
    except PDFInfoNotInstalledError:
        raise MissingDependency("reading PDFs needs poppler: install the Debian package poppler-utils") from None
    except (PDFPageCountError, PDFSyntaxError, ValueError) as exc:
        text = str(exc).strip().splitlines()
        reason = text[-1] if text else "unreadable"
        if "ncrypt" in str(exc) or "assword" in str(exc):
            raise InputError("PDF is encrypted (password protected)") from None
        raise InputError(f"corrupt PDF: {reason}") from None
    pages = int(info.get("Pages", 0))
    if "Encrypted" in info and str(info["Encrypted"]).startswith("yes"):
        raise InputError("PDF is encrypted (password protected)")
    if pages < 1:
        raise InputError("PDF has no pages")
    return pages


def load_pdf_page(path: Path, source: str, number: int, dpi: int = DEFAULT_DPI) -> Page:
    """Render one PDF page to grey at ``dpi``."""
    from pdf2image import convert_from_path
    from pdf2image.exceptions import PDFPageCountError, PDFSyntaxError

    try:
        images = convert_from_path(str(path), dpi=dpi, first_page=number, last_page=number, grayscale=True)
    except (PDFPageCountError, PDFSyntaxError, ValueError, OSError) as exc:
        raise InputError(f"cannot render PDF page {number}: {str(exc).strip().splitlines()[-1:] or exc}") from None
    if not images:
        raise InputError(f"PDF page {number} rendered to nothing")
    _check_size(images[0].width, images[0].height, f"PDF page {number} at {dpi} dpi")
    return Page(source, number, to_pixels(images[0]), float(dpi))


def is_pdf(path: Path) -> bool:
    """True when the file starts like a PDF, whatever its name."""
    try:
        with open(path, "rb") as f:
            return f.read(1024).lstrip().startswith(b"%PDF")
    except OSError:
        return False


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise InputError("is a folder, not a file")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError("file not found (it may have been moved or deleted during the run)") from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError("empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise InputError("cannot read file: permission denied")


def count_pages(path: Path) -> int:
    """How many pages an input has (PDF pages, TIFF frames, 1 for other images), checking that it
    can be opened; the pages themselves are loaded later, one at a time."""
    path = Path(path)
    _check_file(path)
    if is_pdf(path):
        return pdf_page_count(path)
    _check_heif(path)
    with image_errors():
        with Image.open(path) as image:
            return max(1, int(getattr(image, "n_frames", 1)))


def load_page(path: Path, source: str, number: int, dpi: int = DEFAULT_DPI) -> Page:
    """Page ``number`` (from 1) of an input."""
    path = Path(path)
    _check_file(path)
    if is_pdf(path):
        return load_pdf_page(path, source, number, dpi)
    pages = _load_image(path, source, only=number)
    if not pages:
        raise InputError(f"page {number} not found")
    return pages[0]


def load_pages(path: Path, source: str | None = None, dpi: int = DEFAULT_DPI) -> list[Page]:
    """All pages of one input file, images by content and PDFs page by page."""
    path = Path(path)
    source = source or str(path)
    _check_file(path)
    if is_pdf(path):
        return [load_pdf_page(path, source, n, dpi) for n in range(1, pdf_page_count(path) + 1)]
    return _load_image(path, source)
