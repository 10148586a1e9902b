"""What the bench's RapidOCR peers share (each runs in its own venv, without extractor): the crops'
paths read on stdin, each crop's CTC output restricted to the blank and the ten digits and decoded
greedily, and {"texts": [...], "seconds": s} written as JSON."""

import json
import sys
import time

import cv2
import numpy as np


def read_digits(recognize, characters: list[str]) -> None:
    """Read every image path on stdin with ``recognize`` (a BGR image to its (steps, classes) CTC
    output; class 0 the blank, class k ``characters[k]``) as digits only, and write the JSON."""
    keep = np.array([0] + [i for i, ch in enumerate(characters) if ch in "0123456789"])
    paths = [line.strip() for line in sys.stdin if line.strip()]
    started = time.perf_counter()
    texts = []
    for path in paths:
        image = cv2.imread(path)
        if image is None:
            texts.append("")
            continue
        best = keep[recognize(image)[:, keep].argmax(axis=1)]
        text, previous = [], 0
        for index in best:
            if index != previous and index != 0:
                text.append(characters[index])
            previous = index
        texts.append("".join(text))
    json.dump({"texts": texts, "seconds": time.perf_counter() - started}, sys.stdout)
