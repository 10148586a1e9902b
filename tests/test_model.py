import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from extractor import model as model_module
from extractor.normalize import normalize_batch
from extractor.train import fold_batchnorm, make_epoch, with_style_digits

from conftest import ROOT


def test_shipped_model_matches_its_card(mnist_test, classifier):
    card = model_module.read_card()
    assert card["parameters"] == classifier.model.count_params()
    assert model_module.DEFAULT_MODEL.stat().st_size <= 5_000_000
    probs = classifier(normalize_batch(list(mnist_test.images)))
    accuracy = float((probs[:, :10].argmax(axis=1) == mnist_test.labels).mean())
    assert abs(accuracy - card["mnist_test_accuracy"]) < 5e-4
    assert accuracy >= 0.99


def test_not_a_digit_class_rejects_clutter(classifier, mnist_test):
    from extractor import augment

    rng = np.random.default_rng(5)
    clutter = normalize_batch([augment.clutter(rng, mnist_test.images) for _ in range(300)])
    probs = classifier(clutter)
    assert (probs.argmax(axis=1) == model_module.NOT_A_DIGIT).mean() > 0.8
    digits = classifier(normalize_batch(list(mnist_test.images[:300])))
    assert (digits.argmax(axis=1) == model_module.NOT_A_DIGIT).mean() < 0.02


def test_folding_batchnorm_keeps_the_outputs(mnist_test):
    tf = model_module.quiet_tensorflow()
    tf.keras.utils.set_random_seed(0)
    trained = model_module.build_model()
    trained.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = make_epoch(mnist_test.images[:256], mnist_test.labels[:256], seed=0, epoch=0)
    trained.fit(x, y, epochs=1, batch_size=64, verbose=0)
    folded = fold_batchnorm(trained)
    a = trained(x[:64], training=False).numpy()
    b = folded(x[:64], training=False).numpy()
    assert np.abs(a - b).max() < 1e-4


def test_epochs_are_repeatable_and_include_clutter(mnist_test):
    x1, y1 = make_epoch(mnist_test.images[:100], mnist_test.labels[:100], seed=3, epoch=2)
    x2, y2 = make_epoch(mnist_test.images[:100], mnist_test.labels[:100], seed=3, epoch=2)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert (y1 == model_module.NOT_A_DIGIT).sum() == 10
    assert x1.shape == (110, 28, 28, 1)


def test_epochs_learn_from_the_style_sources_too(mnist_test, classifier):
    x, y = make_epoch(mnist_test.images[:100], mnist_test.labels[:100], seed=3, epoch=0, style_share=0.5)
    assert x.shape == (165, 28, 28, 1) and (y == model_module.NOT_A_DIGIT).sum() == 15
    images, labels = with_style_digits(mnist_test.images[:0], mnist_test.labels[:0], 1.0, np.random.default_rng(1))
    assert len(images) == 0  # a share of nothing is nothing
    images, labels = with_style_digits(mnist_test.images[:200], mnist_test.labels[:200], 1.0, np.random.default_rng(1))
    style, style_labels = images[200:], labels[200:]
    assert len(style) == 200 and np.bincount(style_labels, minlength=10).tolist() == [20] * 10
    assert style.dtype == np.uint8 and style.shape[1:] == (28, 28)
    # each style digit is the digit it is labelled: the shipped model, which never learned them, reads most
    read = classifier(normalize_batch(list(style))).argmax(axis=1)
    assert (read == style_labels).mean() > 0.85


def test_training_on_from_the_shipped_digit_model_keeps_what_it_knew(tmp_path, mnist_dir):
    out = tmp_path / "on.keras"
    run = subprocess.run([sys.executable, "-m", "extractor.cli", "train", "--data", str(mnist_dir), "--epochs", "1",
                          "--limit", "300", "-o", str(out), "--from", str(model_module.DEFAULT_MODEL),
                          "--style-digits", "0.2"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["started_from"]["sha256"] == hashlib.sha256(model_module.DEFAULT_MODEL.read_bytes()).hexdigest()
    assert card["training"]["style_digits"]["share"] > 0 and "fonts" in card["training"]["style_digits"]["sources"]
    # 360 crops from nothing read a few digits in ten; from the shipped model it stays near its 99.6%
    assert card["mnist_test_accuracy"] > 0.98


def test_tiny_training_run_writes_a_model_and_card(tmp_path, mnist_dir):
    out = tmp_path / "tiny.keras"
    run = subprocess.run([sys.executable, "-m", "extractor.cli", "train", "--data", str(mnist_dir), "--epochs", "1",
                          "--limit", "300", "-o", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "epoch 1/1" in run.stderr
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["epochs"] == 1 and card["data"]["train_images"] == 300
    assert set(card["data"]["sha256"]) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    assert 0 < card["mnist_test_accuracy"] <= 1
    assert out.stat().st_size < 5_000_000


def test_the_lite_graph_reads_as_the_keras_model_and_is_cached_by_the_model_hash(
        mnist_test, classifier, tmp_path, monkeypatch, capfd):
    batch = normalize_batch(list(mnist_test.images[:500]))
    keras_probs = model_module.probabilities(classifier.model, batch)
    assert np.abs(classifier(batch) - keras_probs).max() < 1e-4
    fresh = model_module.LiteModel(model_module.lite_flatbuffer(), threads=1)
    for size in (1, 7, 1, 100):  # any batch size, the graph's own (1) first; 100 read as 64, 32 and 4
        assert np.abs(fresh(batch[:size]) - keras_probs[:size]).max() < 1e-4
    assert np.array_equal(fresh(batch[:100])[37:], fresh(batch[37:100]))  # a crop reads the same in any batch

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    copy = tmp_path / "copy.keras"
    copy.write_bytes(model_module.DEFAULT_MODEL.read_bytes())
    capfd.readouterr()
    first = model_module.lite_flatbuffer(copy)
    assert capfd.readouterr().out == ""  # the converter's listing of the exported model is not shown
    assert len(list((tmp_path / "extractor").glob("*.tflite"))) == 1
    assert model_module.lite_flatbuffer(copy) == first  # read back from the cache
    # Another model under the same name is converted afresh, never served the old graph.
    other = model_module.build_model(folded=True)
    other.save(copy)
    lite = model_module.LiteModel(model_module.lite_flatbuffer(copy), threads=1)
    assert len(list((tmp_path / "extractor").glob("*.tflite"))) == 2
    assert np.abs(lite(batch[:50]) - model_module.probabilities(other, batch[:50])).max() < 1e-4


def test_readers_start_without_importing_tensorflow_where_litert_is_installed(classifier):
    pytest.importorskip("ai_edge_litert")
    # the fixture has converted the shipped models into the cache; a reading process only runs them
    code = ("import sys; from extractor.readers import Classifier; import numpy as np; c = Classifier(); "
            "c(np.zeros((3, 28, 28, 1), np.float32)); print('tensorflow' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert run.stdout.strip() == "False"
    assert run.stderr == ""  # the interpreter's start-up lines do not reach users
