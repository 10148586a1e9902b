"""extract --learn: the readers tuned on the batch's own sure fields, the unsure ones read again."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from extractor import api, generate, learn
from extractor.readers import PPOCR_HEAD_FILE


def _batch(folder, count: int, seed: int):
    """``count`` pen-model field crops of 3-6 digits, and their digits by file name; in every other
    one, part of a digit rubbed out (fields read unsurely)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    draw = generate.stroke_digit_source()
    truth = {}
    for i in range(count):
        text = generate.random_digits(rng, 3, 6)
        strip = np.full((90, 46 * len(text) + 40), 255, np.uint8)
        generate.write_string(strip, text, 20, 70, 48, draw, rng)
        if i % 2:
            x = 20 + 46 * int(rng.integers(len(text)))
            strip[20 + int(rng.integers(0, 25)): 60, x: x + int(rng.integers(25, 40))] = 255
        cv2.imwrite(str(folder / f"f{i:02d}.png"), generate.scan(strip, rng, skew=0.5))
        truth[f"f{i:02d}.png"] = text
    return truth


def test_sure_fields_are_kept_and_unsure_ones_take_the_second_reading():
    sure = {"field": "amount", "text": "120", "confidence": 0.95, "error": ""}
    unsure = {"field": "date", "text": "0101", "confidence": 0.4, "error": ""}
    again = [{**sure, "text": "170", "confidence": 0.99}, {**unsure, "text": "01012016", "confidence": 0.82,
                                                             "review_reason": "", "needs_review": False}]
    first, second = learn.merged([sure, unsure], again, 0.8)
    assert first == sure and second["text"] == "01012016"
    # the tuned readers are surer than they are right on the fields read again: their confidence tempered
    assert second["confidence"] == round(learn.second_confidence(0.82), 4) < 0.8
    assert second["needs_review"] and second["review_reason"] == f"confidence {second['confidence']:.2f}"
    assert learn.second_confidence(0.999) > 0.99 and learn.second_confidence(0.5) == pytest.approx(0.5)
    # a second reading much less sure than an unsure first one: the first stays
    cut = {**unsure, "text": "25000000", "confidence": 0.62}
    kept, = learn.merged([cut], [{**cut, "text": "2500000", "confidence": 0.43}], 0.8)
    assert kept == cut and learn.second_confidence(0.43) < 0.62 - learn.KEEP_FIRST_MARGIN
    # strings found otherwise the second time: the page keeps its first reading whole
    assert learn.merged([sure, unsure], again[:1], 0.8) == [sure, unsure]
    assert learn.is_sure(sure) and not learn.is_sure(unsure) and not learn.is_sure({**sure, "error": "x"})


def test_a_batch_too_small_to_teach_is_read_once_and_says_so(tmp_path):
    _batch(tmp_path / "few", 4, seed=5)
    frame = api.extract([tmp_path / "few"], layout="field", learn=learn.Learner())
    assert len(frame) == 4
    assert "skipped" in frame.attrs["learned"] and frame.attrs["learned"]["read_again"] == 0


def test_learn_tunes_on_the_sure_fields_and_saves_models_that_read(tmp_path, mnist_dir, monkeypatch):
    monkeypatch.setenv("EXTRACTOR_MNIST_DIR", str(mnist_dir))
    monkeypatch.setattr(learn, "EPOCHS", 1)
    monkeypatch.setattr(learn, "COPIES_PER_EPOCH", 1)
    monkeypatch.setattr(learn, "MIN_LESSONS", 8)
    truth = _batch(tmp_path / "batch", 24, seed=7)
    lines = []
    first = api.extract([tmp_path / "batch"], layout="field")
    journal = str(tmp_path / "out.csv.journal")
    frame = api.extract([tmp_path / "batch"], layout="field", journal=journal,
                        learn=learn.Learner(str(tmp_path / "tuned"), log=lines.append))
    learned = frame.attrs["learned"]
    sure = first["confidence"] >= learn.LEARN_ABOVE
    assert learned["fields"] == int((sure & (first["text"] != "")).sum()) >= 8
    assert learned["read_again"] == int((~sure).sum()) > 0
    # a field the first reading was sure of keeps its reading and its confidence
    assert frame[sure.values][["text", "confidence"]].equals(first[sure.values][["text", "confidence"]])
    assert learned["changed"] == int((frame["text"] != first["text"]).sum())
    assert any(line.startswith("learning: epoch 1/1") for line in lines)
    # a run cut during the second reading resumes it, with the readers it tuned, and ends as it would have
    second_journal = learn.learning_files(journal)[0]
    with open(second_journal) as f:
        kept = f.readline()
    with open(second_journal, "w") as f:
        f.write(kept + '{"path": "half a li')
    again = []
    resumed = api.extract([tmp_path / "batch"], layout="field", journal=journal, resume=True,
                          learn=learn.Learner(str(tmp_path / "tuned"), log=again.append))
    assert resumed.equals(frame) and not [line for line in again if line.startswith("learning")]
    card = json.loads((tmp_path / "tuned" / "adapted.json").read_text())
    assert card["learned"]["fields"] == learned["fields"] and card["learned"]["confidence_at_least"] == learn.LEARN_ABOVE
    # the batch was read again with PP-OCRv6's layer tuned on it (the average of PPOCR_HEAD_TUNINGS
    # tunings); later batches get the tuned string reader and the base folder's layer (none here)
    tuned_here = Path(learn.learning_files(journal)[1])
    assert (tuned_here / PPOCR_HEAD_FILE).is_file() and not (tmp_path / "tuned" / PPOCR_HEAD_FILE).exists()
    here = json.loads((tuned_here / "adapted.json").read_text())
    assert here["learned"]["ppocr_head"]["tunings_averaged"] == learn.PPOCR_HEAD_TUNINGS > 1
    assert card["learned"]["ppocr_head"] is None and card["learned"]["string_reader"] is not None
    # the string reader's first convolutions were kept as they were, the layers above them tuned
    from extractor.model import MODELS_DIR, quiet_tensorflow
    tf = quiet_tensorflow()
    base, tuned = (tf.keras.models.load_model(f / "strings.keras", compile=False) for f in (MODELS_DIR, tmp_path / "tuned"))
    same = lambda name: all(np.array_equal(a, b) for a, b in  # noqa: E731
                            zip(base.get_layer(name).get_weights(), tuned.get_layer(name).get_weights()))
    assert all(same(name) for name in learn.STRING_READER_FROZEN) and not same("context1")
    assert card["learned"]["string_reader"]["layers_kept"] == list(learn.STRING_READER_FROZEN)
    exact = lambda table: float(np.mean([t == truth[s] for s, t in zip(table["source"], table["text"])]))  # noqa: E731
    assert exact(frame) >= exact(first) - 1 / 24  # tuned on its own readings, it reads no worse
    # the saved folder is a models folder the next batch reads with
    out = subprocess.run([sys.executable, "-m", "extractor.cli", "extract", str(tmp_path / "batch"), "--layout", "field",
                          "--models", str(tmp_path / "tuned"), "-o", str(tmp_path / "next.csv"), "--workers", "1"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert len(pd.read_csv(tmp_path / "next.csv")) == 24


def test_learn_save_without_learn_is_a_one_line_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "extractor.cli", "extract", str(tmp_path), "-o", str(tmp_path / "o.csv"),
                          "--learn-save", str(tmp_path / "m")], capture_output=True, text=True)
    assert out.returncode != 0 and out.stderr.strip().count("\n") == 0 and "--learn-save needs --learn" in out.stderr


def test_single_digits_are_no_lessons_and_a_field_is_learned_whole():
    image = np.full((40, 60), 255, np.uint8)
    row = {"text": "7", "confidence": 1.0, "error": "", "x": 10, "y": 10, "width": 10, "height": 20}
    assert learn.lesson_crops(image, [row], "digit", None).crops == []
    assert learn.lesson_crops(image, [row], "field", None).crops[0].shape == (40, 60)
    assert learn.lesson_crops(image, [row], "page", None).crops[0].shape == (26, 16)  # the box and a margin


def test_a_batch_with_more_sure_fields_than_the_tuning_takes_learns_from_a_sample_of_them():
    crops = [np.full((8, 8), i % 256, np.uint8) for i in range(1000)]
    lessons = learn.Lessons(crops, [str(i % 256) for i in range(1000)])
    few = learn.Lessons(crops[:10], lessons.texts[:10])
    assert learn.sampled(few, 400, seed=1) is few
    one, again, other = (learn.sampled(lessons, 400, seed) for seed in (1, 1, 2))
    assert len(one.crops) == len(one.texts) == 400 and one.texts == again.texts and one.texts != other.texts
    assert all(str(int(c[0, 0])) == t for c, t in zip(one.crops, one.texts))  # each crop keeps its string
    at = [next(i for i, c in enumerate(crops) if c is crop) for crop in one.crops]
    assert at == sorted(set(at))  # in the batch's order, none twice
    # what adapt and --learn tune on stops growing with the fields: fewer copies of each
    from extractor import adapt
    assert adapt.user_fields_per_epoch(128) == 8 * 128 and adapt.user_fields_per_epoch(10) == adapt.MIN_USER_PER_EPOCH
    assert adapt.user_fields_per_epoch(5000) == adapt.user_fields_per_epoch(400, 4) == adapt.USER_PER_EPOCH_AT_MOST
    assert adapt.head_copies(128, 4) == adapt.head_copies(400, 4) == 4
    assert adapt.head_copies(1000, 4) == 1 and adapt.head_copies(5000, 4) == 1
