"""MNIST: find the four IDX files, read them, and download them when there is a network.

The data is looked for, in order, in the folder given with ``--data``, in ``$EXTRACTOR_MNIST_DIR``,
and in ``../shared/data/mnist``; only when none of these holds the files is a download tried, from a
canonical mirror, with every file checked against its published sha256.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

#: sha256 of the original files as published by LeCun, Cortes and Burges; downloads must match.
CANONICAL_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

#: Mirrors that serve the original files byte for byte, tried in order.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

DEFAULT_DIR = Path("../shared/data/mnist")
CACHE_DIR = Path.home() / ".cache" / "extractor" / "mnist"


@dataclass(frozen=True)
class Split:
    """One MNIST split: ``images`` uint8 (n, 28, 28), white ink on black; ``labels`` uint8 (n,)."""

    images: np.ndarray
    labels: np.ndarray


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or plain) into a numpy array of its declared shape.

    >>> read_idx("../shared/data/mnist/t10k-labels-idx1-ubyte.gz").shape  # doctest: +SKIP
    (10000,)
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read IDX file ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an unsigned-byte IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(raw) != header + size:
        raise DataError(f"{path}: IDX file is {len(raw)} bytes, header says {header + size}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def sha256_file(path: str | os.PathLike) -> str:
    """The hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _has_all(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES.values())


def find_data_dir(data: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder holding the four MNIST files, by ``data``, ``$EXTRACTOR_MNIST_DIR``, the shared
    folder, the user cache, and finally a checked download into the user cache."""
    if data:
        if _has_all(Path(data)):
            return Path(data)
        raise DataError(f"{data}: does not hold the four MNIST files ({', '.join(FILES.values())})")
    candidates = []
    if os.environ.get("EXTRACTOR_MNIST_DIR"):
        candidates.append(Path(os.environ["EXTRACTOR_MNIST_DIR"]))
    candidates += [DEFAULT_DIR, CACHE_DIR]
    for folder in candidates:
        if _has_all(folder):
            return folder
    if not download:
        raise DataError("MNIST not found: give --data DIR or set EXTRACTOR_MNIST_DIR")
    return download_mnist(CACHE_DIR)


def download_mnist(folder: Path, mirrors: tuple[str, ...] = MIRRORS) -> Path:
    """Download the four files into ``folder``, each checked against its canonical sha256 and
    written atomically, so a broken download never leaves a file that looks complete."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, expected in CANONICAL_SHA256.items():
        target = folder / name
        if target.is_file() and sha256_file(target) == expected:
            continue
        failures = []
        for mirror in mirrors:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=name, suffix=".part")
            os.close(fd)
            try:
                urllib.request.urlretrieve(mirror + name, tmp)
                got = sha256_file(tmp)
                if got != expected:
                    raise DataError(f"sha256 {got[:12]}… is not the canonical {expected[:12]}…")
                os.replace(tmp, target)
                break
            except Exception as exc:  # network errors of every kind: try the next mirror
                failures.append(f"{mirror}: {exc}")
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            raise DataError(f"could not download {name}: " + "; ".join(failures))
    return folder


def load_split(folder: Path, split: str) -> Split:
    """Load ``"train"`` or ``"test"`` from ``folder``."""
    images = read_idx(folder / FILES[f"{split}_images"])
    labels = read_idx(folder / FILES[f"{split}_labels"])
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DataError(f"{folder}: {split} images {images.shape} do not match labels {labels.shape}")
    return Split(images=images, labels=labels)


def data_hashes(folder: Path) -> dict[str, str]:
    """sha256 of each MNIST file in ``folder``, for the model card."""
    return {name: sha256_file(folder / name) for name in FILES.values()}
