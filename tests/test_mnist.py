import gzip
import shutil

import numpy as np
import pytest

from extractor import mnist
from extractor.errors import DataError


def test_reads_the_test_split(mnist_test):
    assert mnist_test.images.shape == (10000, 28, 28)
    assert mnist_test.images.dtype == np.uint8
    assert np.bincount(mnist_test.labels).tolist()[:3] == [980, 1135, 1032]


def test_a_truncated_idx_file_is_a_clear_error(tmp_path, mnist_dir):
    raw = gzip.open(mnist_dir / "t10k-labels-idx1-ubyte.gz").read()
    bad = tmp_path / "t10k-labels-idx1-ubyte"
    bad.write_bytes(raw[:-10])
    with pytest.raises(DataError, match="header says"):
        mnist.read_idx(bad)


def test_data_folder_order_flag_then_environment(tmp_path, monkeypatch, mnist_dir):
    monkeypatch.setenv("EXTRACTOR_MNIST_DIR", str(mnist_dir))
    assert mnist.find_data_dir() == mnist_dir
    with pytest.raises(DataError, match="does not hold"):
        mnist.find_data_dir(tmp_path)


def test_download_checks_every_file_against_its_sha256(tmp_path, monkeypatch, mnist_dir):
    mirror = tmp_path / "mirror"
    shutil.copytree(mnist_dir, mirror)
    hashes = {name: mnist.sha256_file(mirror / name) for name in mnist.FILES.values()}
    monkeypatch.setattr(mnist, "CANONICAL_SHA256", hashes)
    got = mnist.download_mnist(tmp_path / "cache", mirrors=(mirror.as_uri() + "/",))
    assert sorted(p.name for p in got.iterdir()) == sorted(hashes)
    # A mirror serving different bytes is refused and leaves nothing behind.
    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not mnist")
    (tmp_path / "cache2").mkdir()
    with pytest.raises(DataError, match="sha256"):
        mnist.download_mnist(tmp_path / "cache2", mirrors=(mirror.as_uri() + "/",))
    assert not (tmp_path / "cache2" / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list((tmp_path / "cache2").glob("*.part"))
