"""PP-OCRv6's text recognizer as a digit reader: the ONNX graph inside the ``rapidocr`` wheel
(Apache-2.0), run with onnxruntime. It has read a great deal of real writing, in many hands and on
many papers, where our own readers learned from MNIST and synthetic fields; it fails on other fields
than ours, which is what makes the decision over readers (assemble.py) pay.

Its alphabet holds thousands of characters. Read as a digit reader, each step's probability is
folded onto ours: a digit's look-alikes (o and O for 0, s and S for 5, ...) count as the digit, the
separators people write in numbers count as "no digit here", the blank, and every other character
is left out (the rest renormalized: a step that looks most like a letter is read as the digit or
separator it looks most like after it). So "1,00,000" and "2500/-" read as their digits, with no
rule for either. Each reading also keeps the grouping marks (comma, dot) apart, so that an amount
can be scored as an amount is written (ctc.SequenceReading.as_amount). Nothing is downloaded: the
graph is the one the wheel installed.
"""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path

import cv2
import numpy as np

from ..ctc import GROUP, SequenceReading, marks_as_blank
from ..errors import DataError

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
#: Of those, the marks that group an amount's digits (1,25,000): told apart where a field is read
#: as an amount (ctc.SequenceReading.as_amount).
GROUP_MARKS = ",."
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
    and the blank.

    The graph is run up to its last layer, the features of each step; the last layer (a linear map
    and a softmax over its whole alphabet) is applied here to the characters kept only, the same
    numbers, a fraction of the work. ``head`` (weights and bias over those characters, as
    ``extractor adapt`` and ``extract --learn`` tune them on a user's writers: head_file) replaces
    the graph's own."""

    name = "PP-OCRv6"

    def __init__(self, path: str | os.PathLike, threads: int | None = None,
                 look_alikes: dict[str, str] | None = None, head: str | os.PathLike | None = None):
        import onnx
        import onnxruntime as ort
        from onnx import numpy_helper, utils

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = Path(path)
        graph = onnx.load(str(path))
        features, weights, bias = last_layer(graph)
        self.input = graph.graph.input[0].name
        body = utils.Extractor(graph).extract_model([self.input], [features])
        self.session = ort.InferenceSession(body.SerializeToString(), options, providers=["CPUExecutionProvider"])
        characters = {p.key: p.value for p in graph.metadata_props}["character"].splitlines()
        alphabet = ["<blank>"] + characters + [" "]          # as its makers decode it
        groups = digit_classes(alphabet, LOOK_ALIKES if look_alikes is None else look_alikes)
        groups.append(np.array([0] + [k for k, ch in enumerate(alphabet) if ch in SEPARATORS], np.int64))
        #: The characters kept, each with the class (digit, or the blank) it is read as.
        self.kept = np.concatenate(groups)
        self.classes = np.concatenate([np.full(len(g), c) for c, g in enumerate(groups)])
        #: Each kept character's class one-hot, the grouping marks a class of their own (ctc.GROUP):
        #: (kept characters, 12).
        marks = np.isin(self.kept, [k for k, ch in enumerate(alphabet) if ch in GROUP_MARKS])
        self.class_sums = np.eye(GROUP + 1)[np.where(marks, GROUP, self.classes)]
        found = {i.name: i for i in graph.graph.initializer}
        self.weights = numpy_helper.to_array(found[weights])[:, self.kept].astype(np.float32)
        self.bias = numpy_helper.to_array(found[bias])[self.kept].astype(np.float32)
        if head is not None:
            tuned = np.load(head)
            if not np.array_equal(tuned["kept"], self.kept):
                raise DataError(f"{head}: tuned for another PP-OCRv6 graph or other look-alikes")
            self.weights, self.bias = tuned["weights"].astype(np.float32), tuned["bias"].astype(np.float32)

    def features(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        """Each crop's step features (steps, width of the last layer), crops of like widths read in
        one batch; padding steps left out."""
        inputs = [prepared(c) for c in crops]
        out: list[np.ndarray | None] = [None] * len(crops)
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
            found = self.session.run(None, {self.input: batch})[0]
            for k, i in enumerate(group):
                out[i] = found[k, : max(1, math.ceil(inputs[i].shape[2] / STEP))]   # the padding is not read
        return out

    def read(self, crops: list[np.ndarray]) -> list[SequenceReading]:
        """Each crop read: its steps' probabilities over the kept characters, summed into the
        digits and the blank."""
        out = []
        for crop, features, width in zip(crops, self.features(crops), (prepared_width(c) for c in crops)):
            grouped = self.folded(features)
            out.append(SequenceReading(marks_as_blank(grouped), crop.shape[1] / max(1.0, width) * STEP, grouped))
        return out

    def folded(self, features: np.ndarray) -> np.ndarray:
        """Steps' features to (steps, 12) probabilities: the last layer over the kept characters,
        each step's softmax over them (every other character left out), summed per class, the
        grouping marks a class of their own (ctc.GROUP; ctc.marks_as_blank folds them away)."""
        logits = features.astype(np.float64) @ self.weights + self.bias
        chances = np.exp(logits - logits.max(axis=1, keepdims=True))
        summed = chances @ self.class_sums + 1e-9 * chances.sum(axis=1, keepdims=True)
        return summed / summed.sum(axis=1, keepdims=True)


def last_layer(graph) -> tuple[str, str, str]:
    """The recognizer's last layer: (its input, the step features; its weights; its bias), found by
    walking back from the graph's softmax output through MatMul and Add."""
    made_by = {out: node for node in graph.graph.node for out in node.output}
    initializers = {i.name for i in graph.graph.initializer}
    node = made_by[graph.graph.output[0].name]
    bias = None
    while node is not None:
        if node.op_type == "Add" and bias is None:
            bias = next((i for i in node.input if i in initializers), None)
        if node.op_type == "MatMul":
            weights = next(i for i in node.input if i in initializers)
            return next(i for i in node.input if i not in initializers), weights, bias
        node = made_by.get(next((i for i in node.input if i not in initializers), ""))
    raise DataError("PP-OCRv6's graph has no last linear layer where it was expected")


def digit_classes(alphabet: list[str], look_alikes: dict[str, str]) -> list[np.ndarray]:
    """For each digit, the recognizer's classes read as it: itself and its look-alikes."""
    return [np.array([k for k, ch in enumerate(alphabet) if ch in look_alikes[str(d)]], np.int64) for d in range(10)]


def prepared_width(crop: np.ndarray) -> int:
    """A crop's width at HEIGHT rows, as prepared scales it (before padding)."""
    h, w = crop.shape[:2]
    return int(min(MAX_WIDTH, max(1, math.ceil(HEIGHT * w / max(1, h)))))


def prepared(crop: np.ndarray) -> np.ndarray:
    """A crop as the recognizer's input: colour (grey repeated), HEIGHT rows keeping its aspect,
    at least MIN_WIDTH wide (the rest mid-grey, as its makers pad), channels first."""
    image = crop if crop.ndim == 3 else cv2.cvtColor(np.ascontiguousarray(crop, np.uint8), cv2.COLOR_GRAY2BGR)
    new_w = prepared_width(image)
    resized = cv2.resize(image, (new_w, HEIGHT)).astype(np.float32)
    out = np.zeros((3, HEIGHT, max(MIN_WIDTH, new_w)), np.float32)
    out[:, :, :new_w] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    return out
