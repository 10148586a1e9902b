"""RapidOCR digits-only, the bench's second peer: PP-OCRv4's text recognizer (the weights inside the
rapidocr_onnxruntime wheel) on each crop alone, its CTC output restricted to the blank and the ten
digits, decoded greedily. Run by bench/run.py with the Python of its own venv (`make bench` makes
it); reads image paths, one a line, on stdin, and writes {"texts": [...], "seconds": s} as JSON."""

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import rapidocr_onnxruntime
from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
from rapidocr_onnxruntime.utils import read_yaml


def main():
    root = Path(rapidocr_onnxruntime.__file__).parent
    config = read_yaml(str(root / "config.yaml"))["Rec"]
    config["model_path"] = str(root / config["model_path"])
    config["intra_op_num_threads"] = config["inter_op_num_threads"] = 1
    recognizer = TextRecognizer(config)
    characters = recognizer.postprocess_op.character  # index 0 is the CTC blank
    keep = np.array([0] + [i for i, ch in enumerate(characters) if ch in "0123456789"])
    paths = [line.strip() for line in sys.stdin if line.strip()]
    started = time.perf_counter()
    texts = []
    for path in paths:
        image = cv2.imread(path)
        if image is None:
            texts.append("")
            continue
        batch = recognizer.resize_norm_img(image, max(320 / 48, image.shape[1] / image.shape[0]))[None]
        preds = recognizer.session(batch.astype(np.float32))[0][0]   # (steps, classes)
        best = keep[preds[:, keep].argmax(axis=1)]
        text, previous = [], 0
        for index in best:
            if index != previous and index != 0:
                text.append(characters[index])
            previous = index
        texts.append("".join(text))
    json.dump({"texts": texts, "seconds": time.perf_counter() - started}, sys.stdout)


if __name__ == "__main__":
    main()
