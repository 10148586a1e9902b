"""The web app: sign up, upload scans and see them read, draw digits, keep a history (``extractor serve``).

A Flask front end over ``api.extract``: server-side templates, a little plain JavaScript, every asset
served from the package. Passwords are hashed (werkzeug), every form carries a CSRF token
(Flask-WTF), logins are rate-limited (Flask-Limiter), uploads are checked by their content and stored
under generated names, and every page of results is reachable only by the user who made it.

For more than a few users, run it under a WSGI server: ``gunicorn 'extractor.web:create_app()'``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import secrets
import threading
from functools import wraps
from pathlib import Path

import cv2
import numpy as np
from flask import (Flask, abort, current_app, flash, g, jsonify, redirect, render_template, request, send_file,
                   session, url_for)
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash

from .. import api, assemble
from ..adapt import corrected_crop
from ..errors import ExtractorError
from ..records import error_row, xlsx_to
from . import store

#: What an upload may be, told by its first bytes, never by its name: (magic, kind, extension).
ACCEPTED = ((b"\x89PNG\r\n\x1a\n", "PNG", ".png"), (b"\xff\xd8\xff", "JPEG", ".jpg"), (b"II*\x00", "TIFF", ".tif"),
            (b"MM\x00*", "TIFF", ".tif"), (b"BM", "BMP", ".bmp"), (b"%PDF-", "PDF", ".pdf"))
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")
MIN_PASSWORD = 8
#: How uploads are read: the layouts of DESIGN.md §3, and the built-in cheque template.
READ_AS = {"page": "every number on the page", "field": "one number per image (a cropped field)",
           "cts2010": "Indian CTS-2010 cheque: date and amount"}
DRAWING_LIMIT = 2 * 1024 * 1024


def default_data_dir() -> Path:
    """Where the app keeps its database, uploads and secret key unless told otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "extractor" / "web"


def sniff_type(head: bytes) -> tuple[str, str] | None:
    """(kind, extension) of an accepted file from its first bytes, or None."""
    for magic, kind, extension in ACCEPTED:
        if head.startswith(magic):
            return kind, extension
    return None


def _secret_key(data_dir: Path) -> str:
    """The signing key for session cookies: from the environment, else made once and kept (mode 600)."""
    if os.environ.get("EXTRACTOR_SECRET_KEY"):
        return os.environ["EXTRACTOR_SECRET_KEY"]
    path = data_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(config: dict | None = None) -> Flask:
    """A configured app. Keys beyond Flask's: DATA_DIR (database, uploads), DATABASE_URL, MAX_UPLOAD_MB,
    LOGIN_RATE_LIMIT (e.g. "5 per minute"), MODELS (a models folder, such as one `extractor adapt`
    wrote; default: the shipped models), CLASSIFIER (an api.Classifier to share; else loaded on first use)."""
    config = dict(config or {})
    data_dir = Path(config.get("DATA_DIR") or os.environ.get("EXTRACTOR_WEB_DIR") or default_data_dir())
    data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__)
    max_mb = float(config.get("MAX_UPLOAD_MB") or os.environ.get("EXTRACTOR_MAX_UPLOAD_MB") or 25)
    app.config.update(
        SECRET_KEY=_secret_key(data_dir),
        DATA_DIR=str(data_dir),
        DATABASE_URL=os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'extractor.db'}",
        MAX_UPLOAD_MB=max_mb,
        MAX_CONTENT_LENGTH=int(max_mb * 1024 * 1024),
        LOGIN_RATE_LIMIT="5 per minute",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("EXTRACTOR_SECURE_COOKIES") == "1",
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.update({k: v for k, v in config.items() if k != "CLASSIFIER"})
    app.extensions["extractor.db"] = store.open_database(app.config["DATABASE_URL"])
    app.extensions["extractor.classifier"] = {"model": config.get("CLASSIFIER"), "lock": threading.Lock()}
    CSRFProtect(app)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://", default_limits=[])
    _routes(app, limiter)
    return app


def _db():
    return current_app.extensions["extractor.db"]


def _reading():
    """The classifier, loaded once per app on first use, and the lock that keeps one page at a time."""
    slot = current_app.extensions["extractor.classifier"]
    with slot["lock"]:
        if slot["model"] is None:
            slot["model"] = api.Classifier.load(current_app.config.get("MODELS"))
    return slot["model"], slot["lock"]


def _upload_dir(user_id: int, upload_id: str) -> Path:
    return Path(current_app.config["DATA_DIR"]) / "uploads" / str(int(user_id)) / upload_id


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.user_id is None:
            return redirect(url_for("login"))
        return view(*args, **kwargs)
    return wrapped


def read_upload(path: Path, read_as: str, pages_dir: Path) -> list[dict]:
    """The long rows of one stored file, its pages annotated into ``pages_dir``."""
    classify, lock = _reading()
    options = {"template": "cts2010"} if read_as == "cts2010" else {"layout": read_as}
    try:
        with lock:
            table = api.extract([path], classify=classify, annotate=str(pages_dir), workers=1, **options)
    except ExtractorError as exc:  # e.g. poppler missing for a PDF: the file gets an error row
        return [error_row(path.name, str(exc), 1)]
    return table.to_dict("records")


def write_corrections(out, rows, stored_path) -> int:
    """A zip of corrected fields into ``out``: ``field_<id>.png`` crops cut from the pages of the
    stored files (``stored_path(row)``) and labels.csv (file,digits); return how many were written.
    A field whose file or page can no longer be read is left out."""
    import zipfile

    from ..errors import ExtractorError as Unreadable
    from ..pages import load_pages

    pages: dict = {}
    lines = ["file,digits"]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for row in rows:
            path = stored_path(row)
            if path not in pages:
                try:
                    pages[path] = load_pages(path)
                except Unreadable:
                    pages[path] = []
            if not 1 <= row.page <= len(pages[path]):
                continue
            crop = corrected_crop(pages[path][row.page - 1].image, row.x, row.y, row.width, row.height)
            if crop.size == 0:
                continue
            if crop.ndim == 3:
                crop = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)
            ok, png = cv2.imencode(".png", crop)
            name = f"field_{row.id}.png"
            archive.writestr(name, png.tobytes())
            lines.append(f"{name},{row.corrected_text}")
        archive.writestr("labels.csv", "\n".join(lines) + "\n")
    return len(lines) - 1


def read_drawing(image: np.ndarray) -> dict:
    """The number drawn on the canvas, with each digit's three likeliest readings."""
    classify, lock = _reading()
    with lock:
        found = api.read_field_image(image, classify, "drawing")
    digits = [{"value": d.value, "confidence": round(d.confidence, 4),
               "top": [[v, round(p, 4)] for v, p in d.top], "box": [d.x, d.y, d.w, d.h]} for d in found.digits]
    return {"text": found.text, "confidence": round(found.confidence, 4), "needs_review": assemble.needs_review(found),
            "digits": digits}


def decode_drawing(data_url: str) -> np.ndarray | None:
    """The canvas's PNG (a data: URL) as dark ink on white paper, or None if it is not one."""
    prefix = "data:image/png;base64,"
    if not isinstance(data_url, str) or not data_url.startswith(prefix) or len(data_url) > DRAWING_LIMIT:
        return None
    try:
        raw = base64.b64decode(data_url[len(prefix):], validate=True)
    except ValueError:
        return None
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim not in (2, 3) or min(image.shape[:2]) < 8:
        return None
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255
        image = (image[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


def _routes(app: Flask, limiter: Limiter) -> None:
    @app.before_request
    def who():
        g.user_id = session.get("user_id")
        g.username = store.user_name(_db(), g.user_id) if g.user_id is not None else None
        if g.user_id is not None and g.username is None:
            session.clear()
            g.user_id = None

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.context_processor
    def names():
        return {"username": g.get("username")}

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_template("error.html", title="Form expired",
                               message="The form's security token was missing or stale: reload the page and try again."), 400

    @app.errorhandler(413)
    def too_large(exc):
        return render_template("error.html", title="Upload too large",
                               message=f"An upload may be at most {app.config['MAX_UPLOAD_MB']:g} MB in all."), 413

    @app.errorhandler(404)
    def not_found(exc):
        return render_template("error.html", title="Not found", message="There is nothing here for you."), 404

    @app.errorhandler(429)
    def too_many(exc):
        return render_template("error.html", title="Too many attempts",
                               message="Too many login attempts from your address: wait a minute and try again."), 429

    @app.route("/signup", methods=["GET", "POST"])
    @limiter.limit(lambda: app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
    def signup():
        if request.method == "POST":
            username = request.form.get("username", "").strip()
            password = request.form.get("password", "")
            if not USERNAME.match(username):
                flash("A user name is 3 to 40 letters, digits, dots, dashes or underscores.")
            elif len(password) < MIN_PASSWORD:
                flash(f"A password has at least {MIN_PASSWORD} characters.")
            elif password != request.form.get("confirm", ""):
                flash("The two passwords differ.")
            else:
                user_id = store.add_user(_db(), username, generate_password_hash(password))
                if user_id is None:
                    flash("That user name is taken.")
                else:
                    session.clear()
                    session["user_id"] = user_id
                    return redirect(url_for("index"))
            return render_template("signup.html", username=username), 400
        return render_template("signup.html", username="")

    @app.route("/login", methods=["GET", "POST"])
    @limiter.limit(lambda: app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
    def login():
        if request.method == "POST":
            username = request.form.get("username", "").strip()
            user = store.find_user(_db(), username)
            if user is not None and check_password_hash(user.password_hash, request.form.get("password", "")):
                session.clear()
                session["user_id"] = user.id
                return redirect(url_for("index"))
            flash("Wrong user name or password.")
            return render_template("login.html", username=username), 401
        return render_template("login.html", username="")

    @app.route("/logout", methods=["POST"])
    def logout():
        session.clear()
        return redirect(url_for("login"))

    @app.route("/", methods=["GET", "POST"])
    @login_required
    def index():
        if request.method == "GET":
            return render_template("upload.html", read_as=READ_AS, chosen="page")
        read_as = request.form.get("read_as", "page")
        if read_as not in READ_AS:
            abort(400)
        sent = [f for f in request.files.getlist("files") if f and f.filename]
        accepted, refused = [], []
        for f in sent:
            display = Path(f.filename.replace("\\", "/")).name[:200] or "upload"
            kind = sniff_type(f.stream.read(8))
            f.stream.seek(0)
            (accepted if kind else refused).append((f, display, kind))
        for _, display, _ in refused:
            flash(f"{display}: not a PNG, JPEG, TIFF, BMP or PDF file (told by its content), so it was not read.")
        if not accepted:
            if not sent:
                flash("Choose at least one image or PDF.")
            return render_template("upload.html", read_as=READ_AS, chosen=read_as), 400
        stored = [{"id": store.new_id(), "display_name": display, "kind": kind} for _, display, kind in accepted]
        for s in stored:
            s["stored_name"] = s["id"] + s.pop("kind")[1]
        upload_id = store.add_upload(_db(), g.user_id, "upload", read_as, stored)
        folder = _upload_dir(g.user_id, upload_id)
        folder.mkdir(parents=True)
        for (f, _, _), s in zip(accepted, stored):
            path = folder / s["stored_name"]
            f.save(path)
            rows = read_upload(path, read_as, folder / "pages")
            store.add_readings(_db(), upload_id, s["id"], rows)
        return redirect(url_for("results", upload_id=upload_id))

    @app.route("/results/<upload_id>")
    @login_required
    def results(upload_id):
        upload = store.owned_upload(_db(), g.user_id, upload_id)
        if upload is None:
            abort(404)
        files = store.upload_files(_db(), upload_id)
        rows = store.upload_readings(_db(), upload_id)
        by_file = []
        for f in files:
            mine = [r for r in rows if r.file_id == f.id]
            pages = sorted({r.page for r in mine if r.page >= 1})
            by_file.append({"file": f, "rows": mine, "pages": [p for p in pages if _page_image(upload, f, p).is_file()]})
        digits = {r.id: json.loads(r.digits or "[]") for r in rows}
        return render_template("results.html", upload=upload, by_file=by_file, digits=digits, read_as=READ_AS)

    def _page_image(upload, file_row, page: int) -> Path:
        folder = _upload_dir(upload.user_id, upload.id)
        return api.annotation_path(folder / "pages", str(folder / file_row.stored_name), page)

    @app.route("/results/<upload_id>/<file_id>/page-<int:page>.png")
    @login_required
    def page_image(upload_id, file_id, page):
        upload = store.owned_upload(_db(), g.user_id, upload_id)
        if upload is None:
            abort(404)
        file_row = next((f for f in store.upload_files(_db(), upload_id) if f.id == file_id), None)
        image = _page_image(upload, file_row, page) if file_row is not None else None
        if image is None or not image.is_file():
            abort(404)
        return send_file(image, mimetype="image/png")

    @app.route("/results/<upload_id>/correct", methods=["POST"])
    @login_required
    def correct(upload_id):
        text = request.form.get("text", "").strip()
        try:
            reading_id = int(request.form.get("reading", ""))
        except ValueError:
            abort(400)
        if not re.fullmatch(r"[0-9]{0,64}", text):
            flash("A correction is digits only (up to 64).")
        elif not store.correct(_db(), g.user_id, upload_id, reading_id, text):
            abort(404)
        else:
            flash("Correction saved beside the original reading.")
        return redirect(url_for("results", upload_id=upload_id))

    @app.route("/draw", methods=["GET"])
    @login_required
    def draw():
        return render_template("draw.html")

    @app.route("/draw/read", methods=["POST"])
    @login_required
    def draw_read():
        payload = request.get_json(silent=True) or {}
        image = decode_drawing(payload.get("image"))
        if image is None:
            return jsonify({"error": "send the canvas as a PNG data URL"}), 400
        found = read_drawing(image)
        upload_id = store.add_upload(_db(), g.user_id, "drawing", "field",
                                     [{"id": (file_id := store.new_id()), "stored_name": file_id + ".png",
                                       "display_name": "drawing"}])
        folder = _upload_dir(g.user_id, upload_id)
        folder.mkdir(parents=True)
        cv2.imwrite(str(folder / (file_id + ".png")), image)
        h, w = image.shape[:2]
        store.add_readings(_db(), upload_id, file_id, [{
            "page": 1, "field": "drawing", "text": found["text"], "confidence": found["confidence"],
            "needs_review": found["needs_review"], "x": 0, "y": 0, "width": w, "height": h, "error": "",
            "digits": found["digits"]}])
        return jsonify({**found, "upload": upload_id})

    @app.route("/history")
    @login_required
    def history():
        return render_template("history.html", uploads=store.history(_db(), g.user_id))

    @app.route("/history.csv")
    @login_required
    def history_csv():
        data = store.history_frame(_db(), g.user_id).to_csv(index=False).encode("utf-8")
        return send_file(io.BytesIO(data), mimetype="text/csv", as_attachment=True, download_name="history.csv")

    @app.route("/history/corrections.zip")
    @login_required
    def history_corrections():
        """The fields this user corrected, as `extractor adapt` reads them: each field's crop as read
        (from the file as uploaded) and labels.csv with the corrected digits."""
        out = io.BytesIO()
        write_corrections(out, store.corrections(_db(), g.user_id),
                          lambda row: _upload_dir(g.user_id, row.upload_id) / row.stored_name)
        out.seek(0)
        return send_file(out, mimetype="application/zip", as_attachment=True, download_name="corrections.zip")

    @app.route("/history.xlsx")
    @login_required
    def history_xlsx():
        out = io.BytesIO()
        xlsx_to(store.history_frame(_db(), g.user_id), out)
        out.seek(0)
        return send_file(out, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         as_attachment=True, download_name="history.xlsx")
