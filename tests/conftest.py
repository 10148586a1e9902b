"""Shared fixtures: MNIST from ../shared/data (as in CI), the shipped model loaded once."""

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "real"
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


@pytest.fixture(scope="session")
def mnist_test():
    from extractor import mnist

    return mnist.load_split(MNIST_DIR, "test")


@pytest.fixture(scope="session")
def classifier():
    from extractor.api import Classifier

    return Classifier()


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(1234)


def tiny_training_run(tmp_path, flag: str, name: str) -> dict:
    """``extractor train FLAG`` for one epoch on a few hundred items, as a user runs it; its card."""
    import json
    import subprocess
    import sys

    out = tmp_path / name
    run = subprocess.run([sys.executable, "-m", "extractor.cli", "train", flag, "--data", str(MNIST_DIR),
                          "--epochs", "1", "--limit", "200", "-o", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(out.with_suffix(".json").read_text())
