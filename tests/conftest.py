"""Shared fixtures: MNIST found as the extractor finds it (../shared/data beside the clone, as in
CI; $EXTRACTOR_MNIST_DIR; the user cache), the shipped model loaded once.

A test whose data is not on this machine (a clone with no shared/ beside it) is skipped, saying
what is missing; in CI, whose clone always has shared/ beside it, it fails instead, so a missing
folder can never pass for a green run."""

import os
from pathlib import Path

import numpy as np
import pytest

from extractor import mnist
from extractor.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"


def _found_mnist() -> Path | None:
    try:
        return mnist.find_data_dir(download=False)
    except DataError:
        return None


MNIST_DIR = _found_mnist()
MNIST_WHERE = "put shared/ beside the clone, or set EXTRACTOR_MNIST_DIR"


def require(present: bool, what: str, where: str = "put shared/ beside the clone") -> None:
    """Skip the calling test when ``what`` is not on this machine (``where`` says how to get it),
    or fail it in CI."""
    if present:
        return
    message = f"{what} not found: {where}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_real(name: str, index: str) -> Path:
    """The real dev set ``name`` (its ``index`` file present), or the calling test skipped (CI: failed)."""
    require((REAL / name / index).is_file(), f"the real set {name}")
    return REAL / name


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    require(MNIST_DIR is not None, "MNIST", MNIST_WHERE)
    return MNIST_DIR


@pytest.fixture(scope="session")
def mnist_test(mnist_dir):
    return mnist.load_split(mnist_dir, "test")


@pytest.fixture(scope="session")
def classifier():
    from extractor.api import Classifier

    return Classifier()


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(1234)


def tiny_training_run(tmp_path, flag: str, name: str, *more: str) -> dict:
    """``extractor train FLAG [MORE...]`` for one epoch on a few hundred items, as a user runs it;
    its card."""
    import json
    import subprocess
    import sys

    require(MNIST_DIR is not None, "MNIST", MNIST_WHERE)
    out = tmp_path / name
    run = subprocess.run([sys.executable, "-m", "extractor.cli", "train", flag, "--data", str(MNIST_DIR),
                          "--epochs", "1", "--limit", "200", "-o", str(out), *more],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(out.with_suffix(".json").read_text())


def pen_running_dry():
    """A digit source (generate's pen model) whose every third digit is written with a pen running
    dry: its ink 30-60% as dark as the rest, the darkness varying along the stroke."""
    import cv2

    from extractor import generate

    pen, written = generate.stroke_digit_source(), [0]

    def draw(digit, rng, height):
        ink = pen(digit, rng, height)
        written[0] += 1
        if written[0] % 3 == 0:
            fade = cv2.resize(rng.uniform(0.3, 0.6, (3, 3)).astype(np.float32), ink.shape[::-1],
                              interpolation=cv2.INTER_CUBIC)
            ink = ink * fade
        return ink

    return draw
