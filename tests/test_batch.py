import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from extractor import generate
from extractor.records import read_csv

from conftest import ROOT


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Thirty small pages of handwritten numbers on lines, drawn by the stroke model."""
    folder = tmp_path_factory.mktemp("batch")
    rng = np.random.default_rng(9)
    for i in range(30):
        page = np.full((700, 900), 255, np.uint8)
        for row in range(3):
            text = generate.random_digits(rng, 2, 6)
            generate.write_string(page, text, 80, 150 + row * 200, 60, generate.stroke_digit_source(), rng, touching=0)
        generate.save_page(page, folder / f"page_{i:02d}.png")
    return folder


def extract(folder, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "extractor.cli", "extract", str(folder), "-o", str(out),
                             "--workers", "1", *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_killed_run_resumes_to_the_same_rows_with_none_twice(pages, tmp_path):
    clean = tmp_path / "clean.csv"
    assert extract(pages, clean).wait(timeout=600) == 0
    out = tmp_path / "out.csv"
    journal = tmp_path / "out.csv.journal"
    run = extract(pages, out)
    deadline = time.time() + 300
    while time.time() < deadline:
        if journal.exists() and journal.read_text().count("\n") >= 5:
            break
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    assert not out.exists()  # nothing half-written
    done_before = journal.read_text().count("\n")
    assert 5 <= done_before < 30
    resumed = extract(pages, out, "--resume")
    assert resumed.wait(timeout=600) == 0
    a, b = read_csv(clean), read_csv(out)
    assert a.equals(b)
    assert not b.duplicated(["source", "page", "field"]).any()
    assert not journal.exists()


def test_earlier_output_survives_a_killed_run(pages, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("earlier results\n")
    journal = tmp_path / "out.csv.journal"
    run = extract(pages, out)
    deadline = time.time() + 300
    while time.time() < deadline and not (journal.exists() and journal.read_text().count("\n") >= 2):
        time.sleep(0.05)  # killed mid-run, whatever the machine's speed: a fixed wait may see it finish
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    assert out.read_text() == "earlier results\n"


def test_a_dask_cluster_gives_the_same_rows_as_a_local_run(pages, classifier):
    from dask.distributed import Client, LocalCluster

    from extractor import api

    some = sorted(pages.glob("*.png"))[:4]
    local = api.extract(some, classify=classifier)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            distributed = api.extract(some, scheduler=client)
    assert local.equals(distributed)


def test_a_file_that_disappears_mid_run_becomes_an_error_row(pages, tmp_path, classifier):
    import shutil

    from extractor import api, batch
    from extractor.pages import find_inputs

    folder = tmp_path / "going"
    folder.mkdir()
    for name in ["page_00.png", "page_01.png"]:
        shutil.copy(pages / name, folder / name)
    units, failed = batch.plan(find_inputs([folder]).items)
    (folder / "page_01.png").unlink()  # gone after it was listed, before it was read
    options = api.Options()
    rows = [row for _, rows in batch.run(units, options, workers=1, classify=classifier) for row in rows]
    assert not failed
    assert [r["error"] for r in rows if r["source"] == "page_01.png"] == [
        "file not found (it may have been moved or deleted during the run)"]
    assert any(r["text"] for r in rows if r["source"] == "page_00.png")
