"""The readers, loaded once per process: the digit model, the pair model and the string reader,
each as a TensorFlow Lite graph, and 8-bit copies of the first two for ranking candidates;
PP-OCRv6's recognizer (ppocr.py) where the rapidocr wheel is installed; and the decision over them
(assemble.Decision) with the weights of the models folder."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from ..assemble import Decision
from ..model import MODELS_DIR, LiteModel, lite_flatbuffer, load_model, probabilities
from ..pairs import DEFAULT_PAIR_MODEL
from ..strings import DEFAULT_STRING_MODEL
from . import ppocr as _ppocr

#: The decision's weights in a models folder.
DECISION_FILE = "decision.json"
#: PP-OCRv6's last layer tuned on a user's writers, in a models folder (ppocr.PPOCRReader's ``head``).
PPOCR_HEAD_FILE = "ppocr_head.npz"


class Classifier:
    """The model, loaded once per process, called on batches of normalized crops; with it, where
    their files are present, the pair model (pairs.py) as ``pairs``, which segmentation asks about
    glyphs that may be two overlapping digits, and the string reader (strings.py) as ``strings``,
    which reads a field's grey crop whole (each None without its file); and as ``rough`` and
    ``rough_pairs`` the digit and pair models with 8-bit weights, several times faster and within a
    few hundredths of them, with which segmentation ranks its many candidate cuts and picks the
    glyphs worth reading as pairs, before reading those with the models themselves. ``ppocr`` is
    PP-OCRv6's recognizer (None where the rapidocr wheel is missing or ``with_ppocr`` is false),
    ``decision`` the one decision over all readers (assemble.Decision); a models folder's
    PPOCR_HEAD_FILE, where there is one, is PP-OCRv6's last layer tuned on a user's writers."""

    def __init__(self, model_path: str | os.PathLike | None = None, threads: int | None = None,
                 pair_model_path: str | os.PathLike | None = DEFAULT_PAIR_MODEL,
                 string_model_path: str | os.PathLike | None = DEFAULT_STRING_MODEL,
                 decision_path: str | os.PathLike | None = MODELS_DIR / DECISION_FILE, with_ppocr: bool = True,
                 ppocr_head_path: str | os.PathLike | None = None):
        self.path, self.threads = model_path, threads

        def reader(path, quantized: bool = False):
            return functools.partial(probabilities, LiteModel(lite_flatbuffer(path, quantized), threads=threads))

        self.graph = LiteModel(lite_flatbuffer(model_path), threads=threads)
        self.rough = reader(model_path, quantized=True)
        self.pairs = self.strings = self.rough_pairs = None
        if pair_model_path and Path(pair_model_path).is_file():
            self.pairs, self.rough_pairs = reader(pair_model_path), reader(pair_model_path, quantized=True)
        if string_model_path and Path(string_model_path).is_file():
            self.strings = reader(string_model_path)
        found = _ppocr.model_path() if with_ppocr else None
        head = ppocr_head_path if ppocr_head_path and Path(ppocr_head_path).is_file() else None
        self.ppocr = _ppocr.PPOCRReader(found, threads, head=head) if found is not None else None
        self.decision = Decision.load(decision_path)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, threads: int | None = None) -> "Classifier":
        """The readers of a models folder (``models/``, or one written by ``extractor adapt``)."""
        folder = Path(folder)
        return cls(folder / "digits.keras", threads, pair_model_path=folder / "pairs.keras",
                   string_model_path=folder / "strings.keras", decision_path=folder / DECISION_FILE,
                   ppocr_head_path=folder / PPOCR_HEAD_FILE)

    @classmethod
    def load(cls, models: str | os.PathLike | None = None, threads: int | None = None) -> "Classifier":
        """The readers of ``models``: a models folder, a digit model file (with the shipped pair
        model and string reader), or None for the shipped models."""
        if models is not None and Path(models).is_dir():
            return cls.from_folder(models, threads)
        return cls(models, threads)

    @functools.cached_property
    def model(self):
        """The Keras model itself, loaded when first asked for (training tools, the model card)."""
        return load_model(self.path, self.threads)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return probabilities(self.graph, batch)
