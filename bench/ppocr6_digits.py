"""PP-OCRv6 digits-only, the bench's third peer, as a user who installs `rapidocr` 3.10 would make
it read digits: its text recognizer (the ONNX graph inside the wheel) on each crop alone, prepared
as its makers prepare a crop (colour, 48 rows high, at least 320 wide, (x / 255 - 0.5) / 0.5), its
CTC output restricted to the blank and the ten digits, decoded greedily. Run by bench/run.py with
the Python of its own venv (`make bench` makes it); reads image paths, one a line, on stdin, and
writes {"texts": [...], "seconds": s} as JSON."""

import math
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import rapidocr
from peer_digits import read_digits  # bench/, beside this script


def prepared(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    width = max(320, int(math.ceil(48 * w / h)))
    resized_w = min(width, int(math.ceil(48 * w / h)))
    resized = cv2.resize(image, (resized_w, 48)).astype(np.float32).transpose(2, 0, 1) / 255
    out = np.zeros((3, 48, width), np.float32)
    out[:, :, :resized_w] = (resized - 0.5) / 0.5
    return out


def main():
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    model = Path(rapidocr.__file__).parent / "models" / "PP-OCRv6_rec_small.onnx"
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    characters = ["blank"] + session.get_modelmeta().custom_metadata_map["character"].splitlines() + [" "]
    name = session.get_inputs()[0].name
    read_digits(lambda image: session.run(None, {name: prepared(image)[None]})[0][0], characters)


if __name__ == "__main__":
    main()
