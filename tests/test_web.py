"""The web app through Flask's test client: accounts, CSRF, rate limits, uploads, results, drawing, history."""

import base64
import io
import os
import re

import cv2
import numpy as np
import pandas as pd
import pytest

from conftest import ROOT

SAMPLES = ROOT / "samples" / "forms"
PASSWORD = "correct horse 9"


@pytest.fixture()
def app(tmp_path, classifier, monkeypatch):
    """A fresh app on SQLite in a temporary folder, or on the database at $EXTRACTOR_TEST_DATABASE_URL
    (PostgreSQL, say), whose tables are dropped after each test."""
    from extractor.web import create_app, store

    url = os.environ.get("EXTRACTOR_TEST_DATABASE_URL")
    if url:
        monkeypatch.setenv("DATABASE_URL", url)
    made = create_app({"DATA_DIR": str(tmp_path / "web"), "CLASSIFIER": classifier, "TESTING": True,
                       "MAX_UPLOAD_MB": 5})
    yield made
    if url:
        store.metadata.drop_all(made.extensions["extractor.db"])


def token(client, url="/login"):
    """The CSRF token of the form at ``url``, as a browser would send it back."""
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def signup(client, name="alice"):
    response = client.post("/signup", data={"username": name, "password": PASSWORD, "confirm": PASSWORD,
                                            "csrf_token": token(client, "/signup")})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def upload(client, *files, read_as="page"):
    """Post (name, bytes) pairs to the upload form; the response."""
    data = {"csrf_token": token(client, "/"), "read_as": read_as,
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post("/", data=data, content_type="multipart/form-data")


def logout(client):
    client.post("/logout", data={"csrf_token": token(client, "/")})


def test_signup_login_logout_and_password_hashed(app):
    client = app.test_client()
    response = signup(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    logout(client)
    assert client.get("/").status_code == 302
    bad = client.post("/login", data={"username": "alice", "password": "wrong password",
                                      "csrf_token": token(client)})
    assert bad.status_code == 401 and "Wrong user name or password" in bad.get_data(as_text=True)
    good = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token(client)})
    assert good.status_code == 302 and client.get("/history").status_code == 200
    from extractor.web import store

    stored = store.find_user(app.extensions["extractor.db"], "alice").password_hash
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    taken = client.post("/signup", data={"username": "alice", "password": PASSWORD, "confirm": PASSWORD,
                                         "csrf_token": token(client, "/signup")})
    assert taken.status_code == 400 and "taken" in taken.get_data(as_text=True)


def test_every_page_needs_login(app):
    client = app.test_client()
    for url in ("/", "/results/0123", "/results/0123/x/page-1.png", "/draw", "/history", "/history.csv", "/history.xlsx"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/login"), url


def test_forms_without_csrf_token_are_refused(app):
    client = app.test_client()
    assert client.post("/signup", data={"username": "bob", "password": PASSWORD, "confirm": PASSWORD}).status_code == 400
    signup(client, "bob")
    refused = client.post("/", data={"read_as": "page", "files": [(io.BytesIO(b"x"), "a.png")]},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "security token" in refused.get_data(as_text=True)
    assert client.post("/draw/read", json={"image": "data:image/png;base64,"}).status_code == 400
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_login_attempts_are_rate_limited(app):
    client = app.test_client()
    signup(client, "carol")
    logout(client)
    codes = [client.post("/login", data={"username": "carol", "password": f"guess {i}",
                                         "csrf_token": token(client)}).status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    right = client.post("/login", data={"username": "carol", "password": PASSWORD, "csrf_token": token(client)})
    assert right.status_code == 429  # even the right password waits out the limit


def test_upload_reads_a_sample_and_shows_it(app):
    client = app.test_client()
    signup(client)
    expected = pd.read_csv(ROOT / "samples" / "expected.csv", dtype=str)
    response = upload(client, ("form_1.png", (SAMPLES / "form_1.png").read_bytes()),
                      ("form_3.pdf", (SAMPLES / "form_3.pdf").read_bytes()))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    for source in ("form_1.png", "form_3.pdf"):
        want = expected[expected.source == source].text
        found = sum(f">{text}<" in page for text in want)
        assert found >= len(want) - 2, (source, found, len(want))
    images = re.findall(r'<img src="([^"]+page-\d+\.png)"', page)
    assert len(images) == 2
    picture = client.get(images[0])
    assert picture.status_code == 200 and picture.data.startswith(b"\x89PNG")


def test_upload_checks_content_and_never_uses_the_client_name(app, tmp_path):
    client = app.test_client()
    signup(client)
    refused = upload(client, ("notes.png", b"this is a text file with an image name\n"))
    assert refused.status_code == 400 and "not a PNG, JPEG" in refused.get_data(as_text=True)
    sneaky = "../../../" + "escape.png"
    response = upload(client, (sneaky, (SAMPLES / "form_1.png").read_bytes()), read_as="field")
    assert response.status_code == 302
    data_dir = tmp_path / "web"
    stored = [p for p in data_dir.rglob("*") if p.is_file() and p.suffix == ".png" and "pages" not in p.parts]
    assert len(stored) == 1 and re.fullmatch(r"[0-9a-f]{32}\.png", stored[0].name)
    assert not list(tmp_path.rglob("escape.png")) and not (tmp_path.parent / "escape.png").exists()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "escape.png" in page and "../" not in page


def test_oversized_upload_is_refused(app):
    client = app.test_client()
    signup(client)
    big = b"\x89PNG\r\n\x1a\n" + bytes(6 * 1024 * 1024)
    response = upload(client, ("big.png", big))
    assert response.status_code == 413 and "at most 5 MB" in response.get_data(as_text=True)


def test_nobody_sees_another_users_results(app):
    alice, mallory = app.test_client(), app.test_client()
    signup(alice, "alice")
    signup(mallory, "mallory")
    location = upload(alice, ("form_2.jpg", (SAMPLES / "form_2.jpg").read_bytes()), read_as="field").headers["Location"]
    upload_id = location.rsplit("/", 1)[1]
    page = alice.get(location).get_data(as_text=True)
    image = re.search(r'<img src="([^"]+)"', page).group(1)
    reading = re.search(r'name="reading" value="(\d+)"', page).group(1)
    assert mallory.get(location).status_code == 404
    assert mallory.get(image).status_code == 404
    response = mallory.post(f"/results/{upload_id}/correct",
                            data={"reading": reading, "text": "666", "csrf_token": token(mallory, "/")})
    assert response.status_code == 404
    assert "form_2.jpg" not in mallory.get("/history").get_data(as_text=True)
    assert "form_2.jpg" not in mallory.get("/history.csv").get_data(as_text=True)
    after = alice.get(location).get_data(as_text=True)
    # the page is full of random hex ids, so look for the correction itself, not for "666" anywhere
    assert "corrected (was" not in after and 'name="text" value="666"' not in after


def test_corrections_are_kept_beside_the_reading_and_exported(app):
    client = app.test_client()
    signup(client)
    location = upload(client, ("form_2.jpg", (SAMPLES / "form_2.jpg").read_bytes())).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    reading = re.search(r'name="reading" value="(\d+)"', page).group(1)
    response = client.post(location + "/correct", data={"reading": reading, "text": "007", "csrf_token": token(client, location)})
    assert response.status_code == 302
    assert "corrected (was" in client.get(location).get_data(as_text=True)
    table = pd.read_csv(io.BytesIO(client.get("/history.csv").data), dtype=str, keep_default_na=False)
    assert len(table) > 1 and set(table.file) == {"form_2.jpg"} and (table.text != "").all()
    assert list(table.corrected_text) == ["007"] + [""] * (len(table) - 1)
    sheet = pd.read_excel(io.BytesIO(client.get("/history.xlsx").data), dtype=str, keep_default_na=False)
    assert sheet.corrected_text[0] == "007" and list(sheet.text) == list(table.text)
    bad = client.post(location + "/correct", data={"reading": reading, "text": "12a", "csrf_token": token(client, location)})
    assert bad.status_code == 302 and "digits only" in client.get(location).get_data(as_text=True)


def test_corrected_fields_download_as_the_folder_extractor_adapt_reads(app, classifier, tmp_path):
    from extractor import adapt, api

    client = app.test_client()
    signup(client)
    location = upload(client, ("form_2.jpg", (SAMPLES / "form_2.jpg").read_bytes())).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    table = pd.read_csv(io.BytesIO(client.get("/history.csv").data), dtype=str, keep_default_na=False)
    readings = re.findall(r'name="reading" value="(\d+)"', page)[:2]
    for reading, text in zip(readings, table.text):  # corrected to what was read: the crop must show it
        client.post(location + "/correct", data={"reading": reading, "text": text, "csrf_token": token(client, location)})
    (tmp_path / "corrections.zip").write_bytes(client.get("/history/corrections.zip").data)
    found = adapt.read_corrections([tmp_path / "corrections.zip"])
    assert found.digits == list(table.text[:2]) and not found.skipped
    assert [api.read_field_image(crop, classifier).text for crop in found.crops] == found.digits


def test_drawing_is_read_with_top_three(app, mnist_test):
    client = app.test_client()
    signup(client)
    digits = [mnist_test.images[i] for i in (0, 1)]  # real handwriting: MNIST test digits
    labels = "".join(str(int(mnist_test.labels[i])) for i in (0, 1))
    canvas = np.full((240, 560), 255, np.uint8)
    for k, d in enumerate(digits):
        canvas[20:216, 120 + 170 * k:316 + 170 * k] = 255 - cv2.resize(d, (196, 196))
    png = cv2.imencode(".png", canvas)[1].tobytes()
    response = client.post("/draw/read", json={"image": "data:image/png;base64," + base64.b64encode(png).decode()},
                           headers={"X-CSRFToken": token(client, "/draw")})
    result = response.get_json()
    assert response.status_code == 200 and result["text"] == labels
    for digit in result["digits"]:
        probs = [p for _, p in digit["top"]]
        assert len(digit["top"]) == 3 and probs == sorted(probs, reverse=True) and digit["top"][0][0] == digit["value"]
    history = client.get("/history").get_data(as_text=True)
    read = re.findall(r'<td class="text">([^<]*)</td>', history)
    assert "drawing" in history and labels in read  # the read column: the page's hex ids may hold any digits
    junk = client.post("/draw/read", json={"image": "data:image/png;base64,AAAA"}, headers={"X-CSRFToken": token(client, "/draw")})
    assert junk.status_code == 400


def test_a_file_that_cannot_be_read_is_an_error_row(app, monkeypatch):
    from extractor import api
    from extractor.errors import MissingDependency

    client = app.test_client()
    signup(client)
    corrupt = upload(client, ("broken.pdf", b"%PDF-1.4\nnot really a pdf\n"))
    assert corrupt.status_code == 302
    page = client.get(corrupt.headers["Location"]).get_data(as_text=True)
    assert 'class="error"' in page and "broken.pdf" in page

    def no_poppler(*args, **kwargs):
        raise MissingDependency("PDF pages need poppler's pdftoppm: apt-get install poppler-utils")

    monkeypatch.setattr(api, "extract", no_poppler)
    response = upload(client, ("scan.pdf", (SAMPLES / "form_3.pdf").read_bytes()))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "poppler-utils" in page
    table = pd.read_csv(io.BytesIO(client.get("/history.csv").data), dtype=str, keep_default_na=False)
    assert sorted(table.file) == ["broken.pdf", "scan.pdf"] and (table.error != "").all()
