"""The digit classifier: a compact CNN over normalized 28x28 crops, with an 11th "not a digit" class.

The network follows the well-tested pattern of stacked 3x3 convolutions with batch normalization,
strided 5x5 convolutions in place of pooling, and dropout (the best single MNIST CNNs are built this
way); it stays small enough to classify thousands of crops a second on two CPU cores.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

#: Labels 0-9 are the digits; this one is "not a digit" (clutter, separators, halves, merged pairs).
NOT_A_DIGIT = 10
CLASSES = 11
#: The shipped models: top-level models/ in the repository (extractor/models links to it), inside
#: the package once installed.
MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = MODELS_DIR / "digits.keras"
#: Crops classified per call; large batches are what make CPU inference fast.
BATCH = 1024


def quiet_tensorflow(threads: int | None = None):
    """Import TensorFlow with its start-up chatter silenced and, if given, its thread pools capped."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules:
        # Where oneDNN is on (it depends on the processor), TensorFlow's C++ side announces it on
        # stderr as it loads, past TF_CPP_MIN_LOG_LEVEL: that line is not for users.
        with stderr_silenced():
            import tensorflow  # noqa: F401
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process: keep its settings
            pass
    return tf


def layer_makers(folded: bool, dropout: float):
    """The pieces the project's CNNs are built of: Keras layers, ``block`` (a layer followed by batch
    normalization and ReLU, or in the folded inference form a layer with bias and ReLU), ``conv``
    (such a block around a convolution) and ``drop`` (dropout, absent when folded)."""
    layers = quiet_tensorflow().keras.layers

    def block(x, name, make):
        if folded:
            return make(name, use_bias=True, activation="relu")(x)
        x = make(name, use_bias=False, activation=None)(x)
        x = layers.BatchNormalization(name=batchnorm_name(name))(x)
        return layers.Activation("relu")(x)

    def conv(x, name, filters, kernel=3, strides=1, padding="valid"):
        return block(x, name, lambda n, **kw: layers.Conv2D(filters, kernel, strides=strides, padding=padding, name=n, **kw))

    def drop(x):
        return x if folded else layers.Dropout(dropout)(x)

    return layers, block, conv, drop


def build_model(folded: bool = False, dropout: float = 0.3):
    """The CNN, uncompiled: (n, 28, 28, 1) float in [0, 1] to (n, 11) softmax.

    ``folded=True`` builds the inference form, in which each batch normalization is folded into the
    layer before it (see train.fold_batchnorm); the layer names match, so weights carry over by name.
    """
    tf = quiet_tensorflow()
    layers, block, conv, drop = layer_makers(folded, dropout)
    inputs = tf.keras.Input((28, 28, 1), name="digit")
    x = conv(inputs, "conv1", 32, 3)                  # 26x26
    x = conv(x, "conv2", 32, 3, strides=2)            # 12x12
    x = drop(x)
    x = conv(x, "conv3", 48, 3)                       # 10x10
    x = conv(x, "conv4", 48, 3)                       # 8x8
    x = conv(x, "conv5", 96, 3, strides=2, padding="same")  # 4x4
    x = drop(layers.Flatten()(x))
    x = drop(block(x, "dense", lambda n, **kw: layers.Dense(128, name=n, **kw)))
    outputs = layers.Dense(CLASSES, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(inputs, outputs, name="digits")


def batchnorm_name(layer_name: str) -> str:
    """Name of the batch normalization that follows a convolution or dense layer."""
    return "bn_" + layer_name


@dataclass(frozen=True)
class Prediction:
    """Per crop: the digit read (argmax over 0-9), its probability, and P(not a digit)."""

    digits: np.ndarray       # (n,) int
    confidence: np.ndarray   # (n,) float: probability of the digit read
    not_digit: np.ndarray    # (n,) float: probability of the reject class
    probabilities: np.ndarray  # (n, 11)


def load_model(path: str | os.PathLike | None = None, threads: int | None = None):
    """Load a saved classifier (default: the shipped ``models/digits.keras``)."""
    path = Path(path) if path else DEFAULT_MODEL
    if not path.is_file():
        raise DataError(f"{path}: model file not found (train one with `extractor train`)")
    tf = quiet_tensorflow(threads)
    return tf.keras.models.load_model(path, compile=False)


@contextlib.contextmanager
def stderr_silenced():
    """The process's stderr (file descriptor 2, where C++ libraries write) sent to /dev/null."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def lite_interpreter():
    """The TensorFlow Lite interpreter class: LiteRT's (``ai-edge-litert``, the interpreter alone,
    which imports in a tenth of a second) where it is installed, else TensorFlow's own, which
    imports the whole of TensorFlow first (seconds, in every worker process)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return quiet_tensorflow().lite.Interpreter
    return Interpreter


class LiteModel:
    """The model as a TensorFlow Lite graph run by XNNPACK: the same probabilities (to 1e-6) at
    about 1.7 times the speed of TensorFlow on a CPU, for the many small batches segmentation asks.

    Giving an interpreter a new batch shape makes it allocate and plan again, which costs as much
    as reading a few dozen crops; segmentation asks batches of every size. So there is one
    interpreter per power-of-two batch up to ``largest``, each planned once, and a batch is read
    in such pieces (37 crops: 32, 4 and 1), with no padding. Calls are serialized, as one
    interpreter cannot run two batches at once."""

    def __init__(self, flatbuffer: bytes, threads: int | None = None, largest: int = 64):
        self.flatbuffer, self.threads, self.largest = flatbuffer, threads or os.cpu_count(), largest
        self.interpreters: dict[int, object] = {}
        self.lock = threading.Lock()
        first = self._interpreter(1)  # fails here, not on the first batch, if the graph cannot run
        # Every size's interpreter is of the same graph: the same tensors, the same output width.
        self.input = first.get_input_details()[0]["index"]
        output = first.get_output_details()[0]
        self.output, self.width = output["index"], tuple(output["shape"][1:])

    def _interpreter(self, size: int):
        if size not in self.interpreters:
            # The interpreter's C++ side prints a line on stderr when the XNNPACK delegate starts,
            # which no setting turns off (and tf.lite's announces its successor): not for users.
            with warnings.catch_warnings(), stderr_silenced():
                warnings.simplefilter("ignore")
                interpreter = lite_interpreter()(model_content=self.flatbuffer, num_threads=self.threads)
                shape = interpreter.get_input_details()[0]["shape"]
                if shape[0] != size:
                    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [size, *shape[1:]])
                interpreter.allocate_tensors()
            self.interpreters[size] = interpreter
        return self.interpreters[size]

    def _run(self, batch: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter(len(batch))
        interpreter.set_tensor(self.input, batch)
        interpreter.invoke()
        return interpreter.get_tensor(self.output).copy()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, np.float32)
        out, start = [], 0
        with self.lock:
            while start < len(batch):
                left = len(batch) - start
                size = self.largest if left >= self.largest else 1 << (left.bit_length() - 1)
                out.append(self._run(batch[start: start + size]))
                start += size
        return np.concatenate(out) if out else np.zeros((0, *self.width), np.float32)


def lite_flatbuffer(path: str | os.PathLike | None = None, quantized: bool = False) -> bytes:
    """A saved model (default: the shipped one) converted to TensorFlow Lite; ``quantized``: with
    its weights stored as 8-bit integers (dynamic-range quantization, activations still float),
    which XNNPACK runs several times faster on a CPU. The conversion takes seconds, so it is kept
    in the user's cache under the model file's hash: a retrained or replaced model is converted
    afresh, never confused with the old one."""
    path = Path(path) if path else DEFAULT_MODEL
    if not path.is_file():
        raise DataError(f"{path}: model file not found (train one with `extractor train`)")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cache = (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "extractor"
             / f"{digest}{'-int8' if quantized else ''}.tflite")
    if cache.is_file():
        return cache.read_bytes()
    tf = quiet_tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(load_model(path))
    if quantized:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    # The converter exports the model first and prints each of its endpoints on stdout: that
    # listing is not for users (nor for a CSV written to stdout).
    with stderr_silenced(), contextlib.redirect_stdout(io.StringIO()):
        flatbuffer = converter.convert()
    try:  # written whole, then renamed into place, so a parallel worker never reads half a file
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(flatbuffer)
        partial.replace(cache)
    except OSError:
        pass  # no writable cache: convert again next time
    return flatbuffer


def probabilities(model, batch: np.ndarray) -> np.ndarray:
    """Class probabilities for a batch of normalized crops ((n, 11) from the digit model's
    (n, 28, 28, 1)), run in large chunks. ``model`` is a Keras model or a :class:`LiteModel`, of the
    digit model or the pair model (pairs.py)."""
    if len(batch) == 0:
        return np.zeros((0, CLASSES), np.float32)
    out = []
    batch = np.asarray(batch, np.float32)
    for start in range(0, len(batch), BATCH):
        chunk = batch[start: start + BATCH]
        out.append(np.asarray(model(chunk) if not hasattr(model, "layers") else model(chunk, training=False)))
    return np.concatenate(out).astype(np.float32)


def predict(model, batch: np.ndarray) -> Prediction:
    """Read a batch of normalized crops."""
    probs = probabilities(model, batch)
    digits = probs[:, :10].argmax(axis=1) if len(probs) else np.zeros(0, int)
    return Prediction(
        digits=digits,
        confidence=probs[np.arange(len(probs)), digits] if len(probs) else np.zeros(0),
        not_digit=probs[:, NOT_A_DIGIT] if len(probs) else np.zeros(0),
        probabilities=probs,
    )


def read_card(model_path: str | os.PathLike | None = None) -> dict:
    """The model card that sits beside a model file (``digits.json`` beside ``digits.keras``)."""
    path = Path(model_path) if model_path else DEFAULT_MODEL
    card = path.with_suffix(".json")
    return json.loads(card.read_text()) if card.is_file() else {}
