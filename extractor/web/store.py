"""The web app's records: users, their uploads and drawings, and every string read, with corrections.

SQLite in the app's data folder by default; any SQLAlchemy URL (``DATABASE_URL``, e.g.
``postgresql+psycopg://user:pass@host/db``) for a shared server. Every query that returns a user's
data takes that user's id, so one user's rows are never reachable from another's session.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import datetime, timezone

import pandas as pd
from sqlalchemy import (Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text,
                        create_engine, insert, select, update)
from sqlalchemy.engine import Engine

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(40), unique=True, nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("created_at", String(32), nullable=False),
)

#: One upload (one or more files sent together) or one drawing; its id is random, not a counter.
uploads = Table(
    "uploads", metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # "upload" or "drawing"
    Column("layout", String(16), nullable=False),
    Column("created_at", String(32), nullable=False),
)

#: A file of an upload, stored under a generated name; ``display_name`` is only ever shown, escaped.
files = Table(
    "files", metadata,
    Column("id", String(32), primary_key=True),
    Column("upload_id", String(32), ForeignKey("uploads.id"), nullable=False, index=True),
    Column("stored_name", String(64), nullable=False),
    Column("display_name", String(255), nullable=False),
    Column("pages", Integer, nullable=False, default=0),
)

#: A string read (or an error row), and the user's correction beside the original reading.
readings = Table(
    "readings", metadata,
    Column("id", Integer, primary_key=True),
    Column("upload_id", String(32), ForeignKey("uploads.id"), nullable=False, index=True),
    Column("file_id", String(32), ForeignKey("files.id"), nullable=False),
    Column("page", Integer, nullable=False),
    Column("field", String(64), nullable=False),
    Column("text", String(64), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("needs_review", Boolean, nullable=False),
    Column("review_reason", String(255), nullable=False, default=""),
    Column("x", Integer), Column("y", Integer), Column("width", Integer), Column("height", Integer),
    Column("error", Text, nullable=False, default=""),
    Column("digits", Text, nullable=False, default="[]"),  # JSON: value, confidence, top 3, box per digit
    Column("corrected_text", String(64)),
    Column("corrected_at", String(32)),
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_id() -> str:
    """A random identifier that cannot be guessed from another one."""
    return uuid.uuid4().hex


def open_database(url: str) -> Engine:
    """Connect, creating the tables on first use."""
    engine = create_engine(url, future=True)
    metadata.create_all(engine)
    return engine


def add_user(engine: Engine, username: str, password_hash: str) -> int | None:
    """The new user's id, or None if the name is taken."""
    with engine.begin() as db:
        if db.execute(select(users.c.id).where(users.c.username == username)).first():
            return None
        return db.execute(insert(users).values(username=username, password_hash=password_hash,
                                               created_at=now())).inserted_primary_key[0]


def find_user(engine: Engine, username: str):
    with engine.connect() as db:
        return db.execute(select(users).where(users.c.username == username)).first()


def user_name(engine: Engine, user_id: int) -> str | None:
    with engine.connect() as db:
        return db.execute(select(users.c.username).where(users.c.id == user_id)).scalar()


def add_upload(engine: Engine, user_id: int, kind: str, layout: str, stored: list[dict]) -> str:
    """Record an upload and its files (dicts with id, stored_name, display_name); its id."""
    upload_id = new_id()
    with engine.begin() as db:
        db.execute(insert(uploads).values(id=upload_id, user_id=user_id, kind=kind, layout=layout, created_at=now()))
        for f in stored:
            db.execute(insert(files).values(upload_id=upload_id, pages=0, **f))
    return upload_id


def add_readings(engine: Engine, upload_id: str, file_id: str, rows: list[dict]) -> None:
    """Store the rows read from one file (the long table of DESIGN.md §3, plus each string's digits)."""
    pages = max([int(r["page"]) for r in rows] or [0])
    with engine.begin() as db:
        db.execute(update(files).where(files.c.id == file_id).values(pages=pages))
        for r in rows:
            db.execute(insert(readings).values(
                upload_id=upload_id, file_id=file_id, page=int(r["page"]), field=str(r["field"]),
                text=str(r["text"]), confidence=float(r["confidence"]), needs_review=bool(r["needs_review"]),
                review_reason=str(r.get("review_reason", "") or ""), x=int(r["x"]), y=int(r["y"]),
                width=int(r["width"]), height=int(r["height"]), error=str(r["error"] or ""),
                digits=json.dumps(r.get("digits", []))))


def owned_upload(engine: Engine, user_id: int, upload_id: str):
    """The upload if it is this user's, else None (the same answer as for an id that does not exist)."""
    with engine.connect() as db:
        return db.execute(select(uploads).where(uploads.c.id == upload_id, uploads.c.user_id == user_id)).first()


def upload_files(engine: Engine, upload_id: str) -> list:
    with engine.connect() as db:
        return list(db.execute(select(files).where(files.c.upload_id == upload_id).order_by(files.c.display_name)))


def upload_readings(engine: Engine, upload_id: str) -> list:
    with engine.connect() as db:
        return list(db.execute(select(readings).where(readings.c.upload_id == upload_id).order_by(readings.c.id)))


def correct(engine: Engine, user_id: int, upload_id: str, reading_id: int, text: str) -> bool:
    """Store a user's correction beside the reading; False if the reading is not theirs."""
    if owned_upload(engine, user_id, upload_id) is None:
        return False
    with engine.begin() as db:
        done = db.execute(update(readings).where(readings.c.id == reading_id, readings.c.upload_id == upload_id)
                          .values(corrected_text=text, corrected_at=now()))
        return done.rowcount == 1


def history(engine: Engine, user_id: int) -> list[dict]:
    """This user's uploads and drawings, newest first, with counts of what was read."""
    mine = select(uploads.c.id).where(uploads.c.user_id == user_id)
    with engine.connect() as db:
        ups = list(db.execute(select(uploads).where(uploads.c.user_id == user_id).order_by(uploads.c.created_at.desc())))
        names = list(db.execute(select(files.c.upload_id, files.c.display_name).where(files.c.upload_id.in_(mine))))
        rows = list(db.execute(select(readings).where(readings.c.upload_id.in_(mine)).order_by(readings.c.id)))
    files_of, rows_of = defaultdict(list), defaultdict(list)
    for f in names:
        files_of[f.upload_id].append(f.display_name)
    for r in rows:
        rows_of[r.upload_id].append(r)
    out = []
    for u in ups:
        rs = rows_of[u.id]
        out.append({"id": u.id, "kind": u.kind, "layout": u.layout, "created_at": u.created_at, "files": files_of[u.id],
                    "strings": sum(1 for r in rs if r.text), "needs_review": sum(1 for r in rs if r.needs_review),
                    "errors": sum(1 for r in rs if r.error),
                    "corrections": sum(1 for r in rs if r.corrected_text is not None),
                    "texts": [r.corrected_text if r.corrected_text is not None else r.text for r in rs if r.text][:6]})
    return out


def history_frame(engine: Engine, user_id: int) -> pd.DataFrame:
    """Every reading of this user, one row each, original and corrected text side by side."""
    query = (select(uploads.c.id.label("upload"), uploads.c.kind, uploads.c.created_at, files.c.display_name.label("file"),
                    readings.c.page, readings.c.field, readings.c.text, readings.c.corrected_text,
                    readings.c.confidence, readings.c.needs_review, readings.c.review_reason, readings.c.x, readings.c.y,
                    readings.c.width, readings.c.height, readings.c.error, readings.c.corrected_at)
             .select_from(readings.join(uploads, readings.c.upload_id == uploads.c.id)
                          .join(files, readings.c.file_id == files.c.id))
             .where(uploads.c.user_id == user_id)
             .order_by(uploads.c.created_at, uploads.c.id, files.c.display_name, readings.c.id))
    with engine.connect() as db:
        frame = pd.DataFrame(db.execute(query).mappings().all(),
                             columns=["upload", "kind", "created_at", "file", "page", "field", "text", "corrected_text",
                                      "confidence", "needs_review", "review_reason", "x", "y", "width", "height",
                                      "error", "corrected_at"])
    for name in ("upload", "kind", "created_at", "file", "field", "text", "corrected_text", "review_reason", "error",
                 "corrected_at"):
        frame[name] = frame[name].fillna("").astype(str)
    frame["needs_review"] = frame["needs_review"].astype(bool)
    return frame


def corrections(engine: Engine, user_id: int) -> list:
    """This user's corrected readings that hold digits and a box, with the stored file each is on."""
    query = (select(readings.c.id, readings.c.upload_id, readings.c.page, readings.c.x, readings.c.y,
                    readings.c.width, readings.c.height, readings.c.corrected_text, files.c.stored_name)
             .select_from(readings.join(uploads, readings.c.upload_id == uploads.c.id)
                          .join(files, readings.c.file_id == files.c.id))
             .where(uploads.c.user_id == user_id, readings.c.corrected_text.is_not(None),
                    readings.c.corrected_text != "", readings.c.width > 0, readings.c.height > 0)
             .order_by(readings.c.id))
    with engine.connect() as db:
        return list(db.execute(query))

