"""RapidOCR digits-only, the bench's second peer: PP-OCRv4's text recognizer (the weights inside the
rapidocr_onnxruntime wheel) on each crop alone, its CTC output restricted to the blank and the ten
digits, decoded greedily. Run by bench/run.py with the Python of its own venv (`make bench` makes
it); reads image paths, one a line, on stdin, and writes {"texts": [...], "seconds": s} as JSON."""

from pathlib import Path

import numpy as np
import rapidocr_onnxruntime
from peer_digits import read_digits  # bench/, beside this script
from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
from rapidocr_onnxruntime.utils import read_yaml


def main():
    root = Path(rapidocr_onnxruntime.__file__).parent
    config = read_yaml(str(root / "config.yaml"))["Rec"]
    config["model_path"] = str(root / config["model_path"])
    config["intra_op_num_threads"] = config["inter_op_num_threads"] = 1
    recognizer = TextRecognizer(config)
    characters = recognizer.postprocess_op.character  # index 0 is the CTC blank

    def recognize(image):
        batch = recognizer.resize_norm_img(image, max(320 / 48, image.shape[1] / image.shape[0]))[None]
        return recognizer.session(batch.astype(np.float32))[0][0]   # (steps, classes)

    read_digits(recognize, characters)


if __name__ == "__main__":
    main()
