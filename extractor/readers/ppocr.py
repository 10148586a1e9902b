"""PP-OCRv6's text recognizer as a digit reader: the ONNX graph inside the ``rapidocr`` wheel
(Apache-2.0), run with onnxruntime. It has read a great deal of real writing, in many hands and on
many papers, where our own readers learned from MNIST and synthetic fields; it fails on other fields
than ours, which is what makes the decision over readers (assemble.py) pay.

Its alphabet holds thousands of characters. Read as a digit reader, each step's probability is
folded onto ours: a digit's look-alikes (o and O for 0, s and S for 5, ...) count as the digit, the
separators people write in numbers count as "no digit here", the blank, and every other character
is left out (the rest renormalized: a step that looks most like a letter is read as the digit or
separator it looks most like after it). So "1,00,000" and "2500/-" read as their digits, with no
rule for either. Nothing is downloaded: the
graph is the one the wheel installed.
"""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import cv2
import numpy as np

from ..ctc import BLANK, SequenceReading

#: The graph inside the rapidocr wheel, found without importing the package (which would import
#: its own pipeline).
MODEL_FILE = Path("models") / "PP-OCRv6_rec_small.onnx"
#: Its input: colour crops HEIGHT rows high, at least MIN_WIDTH wide (its makers' 320 x 48), scaled
#: to (x / 255 - 0.5) / 0.5; MAX_WIDTH bounds a very long crop.
HEIGHT, MIN_WIDTH, MAX_WIDTH = 48, 320, 1600
#: Crop columns (at HEIGHT) per output step.
STEP = 8
#: Characters read as a digit: the digit itself and what a handwritten digit is read as when the
#: recognizer takes it for a letter (measured on the real amount sets: docs/how-it-works.md); l, I
#: and | are not read as 1: slashes and long commas are.
LOOK_ALIKES = {"0": "0oOD°", "1": "1", "2": "2zZ", "3": "3", "4": "4", "5": "5sS", "6": "6bG",
               "7": "7", "8": "8B", "9": "9gq"}
#: Characters read as "no digit here" beside the recognizer's blank: what people write in numbers.
SEPARATORS = ",.;:/-=' _"
#: Crops of like widths (the widest at most LIKE_WIDTHS times the narrowest) are read together, at
#: most BATCH at once.
BATCH, LIKE_WIDTHS = 16, 1.25


def model_path() -> Path | None:
    """Where the installed rapidocr wheel keeps PP-OCRv6's recognizer, or None without it."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    return path if path.is_file() else None


class PPOCRReader:
    """PP-OCRv6's recognizer read as a digit reader: ``read(crops)`` gives one
    ctc.SequenceReading per crop (grey or colour, paper light), its steps folded onto the ten digits
    and the blank."""

    name = "PP-OCRv6"

    def __init__(self, path: str | os.PathLike, threads: int | None = None,
                 look_alikes: dict[str, str] | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        characters = self.session.get_modelmeta().custom_metadata_map["character"].splitlines()
        alphabet = ["<blank>"] + characters + [" "]          # as its makers decode it
        self.digit_classes = digit_classes(alphabet, LOOK_ALIKES if look_alikes is None else look_alikes)
        self.blank_classes = np.array([0] + [k for k, ch in enumerate(alphabet) if ch in SEPARATORS], np.int64)

    def read(self, crops: list[np.ndarray]) -> list[SequenceReading]:
        """Each crop read, crops of like widths in one batch."""
        inputs = [prepared(c) for c in crops]
        out: list[SequenceReading | None] = [None] * len(crops)
        order = sorted(range(len(crops)), key=lambda i: inputs[i].shape[2])
        groups: list[list[int]] = []
        for i in order:  # a batch is padded to its widest crop: like widths only
            if groups and len(groups[-1]) < BATCH and inputs[i].shape[2] <= LIKE_WIDTHS * inputs[groups[-1][0]].shape[2]:
                groups[-1].append(i)
            else:
                groups.append([i])
        for group in groups:
            width = max(inputs[i].shape[2] for i in group)
            batch = np.zeros((len(group), 3, HEIGHT, width), np.float32)
            for k, i in enumerate(group):
                batch[k, :, :, : inputs[i].shape[2]] = inputs[i]
            probs = self.session.run(None, {self.input: batch})[0]
            for k, i in enumerate(group):
                steps = max(1, math.ceil(inputs[i].shape[2] / STEP))   # the padding is not read
                columns = crops[i].shape[1] / max(1.0, inputs[i].shape[2])
                out[i] = SequenceReading(folded(probs[k, :steps], self.digit_classes, self.blank_classes),
                                         columns * STEP)
        return out


def digit_classes(alphabet: list[str], look_alikes: dict[str, str]) -> list[np.ndarray]:
    """For each digit, the recognizer's classes read as it: itself and its look-alikes."""
    return [np.array([k for k, ch in enumerate(alphabet) if ch in look_alikes[str(d)]], np.int64) for d in range(10)]


def folded(probs: np.ndarray, classes: list[np.ndarray], blank: np.ndarray) -> np.ndarray:
    """One crop's (steps, alphabet) probabilities folded onto (steps, 11): each digit its classes'
    sum, the blank its own with the separators'; every other character left out, each step
    renormalized over what is kept (measured: docs/how-it-works.md)."""
    out = np.zeros((len(probs), 11), np.float64)
    for d, cols in enumerate(classes):
        out[:, d] = probs[:, cols].sum(axis=1)
    out[:, BLANK] = probs[:, blank].sum(axis=1)
    out += 1e-9
    return out / out.sum(axis=1, keepdims=True)


def prepared(crop: np.ndarray) -> np.ndarray:
    """A crop as the recognizer's input: colour (grey repeated), HEIGHT rows keeping its aspect,
    at least MIN_WIDTH wide (the rest mid-grey, as its makers pad), channels first."""
    image = crop if crop.ndim == 3 else cv2.cvtColor(np.ascontiguousarray(crop, np.uint8), cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    new_w = int(min(MAX_WIDTH, max(1, math.ceil(HEIGHT * w / max(1, h)))))
    resized = cv2.resize(image, (new_w, HEIGHT)).astype(np.float32)
    out = np.zeros((3, HEIGHT, max(MIN_WIDTH, new_w)), np.float32)
    out[:, :, :new_w] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    return out
