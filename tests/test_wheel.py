"""The package as a user installs it: a wheel built from the project's files, installed on its own,
reads the sample forms from another folder with the models it carries."""

import os
import shutil
import subprocess
import sys
from collections import Counter

import pandas as pd

from conftest import ROOT

#: What a wheel is built from: the files a fresh clone has (nothing of build/ or .venv).
PROJECT_FILES = ["extractor", "models", "setup.cfg", "pyproject.toml", "README.md"]


def test_an_installed_wheel_reads_the_sample_forms_from_another_folder(tmp_path):
    project = tmp_path / "project"
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.checkpoint.keras"))
        else:
            shutil.copy2(source, project / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                            str(project), "-w", str(tmp_path / "dist")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert "Deprecat" not in build.stderr and "!!" not in build.stderr, build.stderr  # no setuptools warnings
    wheel = next((tmp_path / "dist").glob("extractor-*.whl"))
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                              str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    assert {p.name for p in (site / "extractor" / "models").iterdir()} >= {"digits.keras", "pairs.keras", "strings.keras"}

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import extractor; print(extractor.__file__)"], cwd=elsewhere,
                           env=env, capture_output=True, text=True)
    assert where.stdout.strip().startswith(str(site)), where  # the wheel's package, not the checkout's
    shutil.copytree(ROOT / "samples" / "forms", elsewhere / "forms")
    run = subprocess.run([sys.executable, "-c", "from extractor.cli import main; main()", "extract", "forms",
                          "-o", "read.csv", "--workers", "1"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    read = pd.read_csv(elsewhere / "read.csv", dtype=str, keep_default_na=False)
    expected = pd.read_csv(ROOT / "samples" / "expected.csv", dtype=str, keep_default_na=False)
    found = 0
    for source, want in expected.groupby("source"):
        pool = Counter(read.loc[read["source"] == source, "text"])
        for text in want["text"]:
            found += pool[text] > 0
            pool[text] -= 1
    assert found == len(expected) == 24
