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
