"""Templates: named fields in known places on a form or cheque, in YAML.

```yaml
name: my_form
frame: [0.05, 0.04, 0.95, 0.96]  # where the printed rules of the reference page lie (shares of its size)
inches: [8.5, 11]                 # optional: the form's printed size, width and height
fields:
  - name: account
    box: [0.30, 0.20, 0.40, 0.05] # x, y, width, height, as shares of the reference page
    kind: comb                    # digits | comb | date | amount
    cells: 10                     # comb and date: the number of cells, one digit each
  - name: date
    box: [0.70, 0.05, 0.25, 0.05]
    kind: date
    cells: 8
    pattern: DDMMYYYY
```

Relative coordinates make a template work at any dpi. A page is aligned to the template by its own
rules: after deskewing, the frame of the page's rules is mapped onto the template's frame (shift and
scale), then each field is snapped to the printed box nearest its expected place. A form of known
size (``inches``) is read at the resolution its width in pixels gives, whatever its file states: a
cheque scanned at 200 dpi, or photographed, reads as one scanned at 300.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ..errors import BadArgument

BUILT_IN = Path(__file__).resolve().parent
KINDS = ("digits", "comb", "date", "amount")


@dataclass(frozen=True)
class FieldSpec:
    """One named field of a template, in shares of the reference page."""

    name: str
    box: tuple[float, float, float, float]
    kind: str = "digits"
    cells: int = 0
    pattern: str = ""
    length: int = 0
    skip_left: float = 0.0  # share of the field's width holding printed marks (a currency sign)
    closing: str = ""       # the mark writers end the value with, such as "/-" on Indian cheques
    sign_left: float = 0.0  # a printed sign (a currency symbol) starts in this share of the width: dropped
    years: tuple[int, ...] = ()  # a date field's: the years of the batch's sure dates (dates.py), never from YAML


@dataclass(frozen=True)
class Template:
    name: str
    fields: tuple[FieldSpec, ...]
    frame: tuple[float, float, float, float] | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)
    inches: tuple[float, float] | None = None  # the form's printed width and height


def load_template(name_or_path: str | os.PathLike) -> Template:
    """A built-in template by name (``cts2010``) or a YAML file."""
    path = Path(name_or_path)
    if not path.suffix and (BUILT_IN / f"{name_or_path}.yaml").is_file():
        path = BUILT_IN / f"{name_or_path}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in BUILT_IN.glob("*.yaml"))
        raise BadArgument(f"template {name_or_path!r} not found (built in: {', '.join(names)}; or give a YAML file)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise BadArgument(f"{path}: not valid YAML: {exc}") from None
    return parse_template(data, str(path))


def parse_template(data, where: str = "template") -> Template:
    """Check and build a template from its YAML data; errors name the field at fault."""
    if not isinstance(data, dict) or not isinstance(data.get("fields"), list) or not data["fields"]:
        raise BadArgument(f"{where}: needs a list of fields")
    fields = []
    for i, item in enumerate(data["fields"], start=1):
        name = str(item.get("name", f"field_{i}"))
        box = item.get("box")
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise BadArgument(f"{where}: field {name}: box must be [x, y, width, height] in shares of the page")
        x, y, w, h = (float(v) for v in box)
        if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1):
            raise BadArgument(f"{where}: field {name}: box values must be shares of the page, between 0 and 1")
        kind = str(item.get("kind", "digits"))
        if kind not in KINDS:
            raise BadArgument(f"{where}: field {name}: kind must be one of {', '.join(KINDS)}")
        cells = int(item.get("cells", 8 if kind == "date" else 0))
        if kind == "comb" and cells < 1:
            raise BadArgument(f"{where}: field {name}: a comb needs cells: N")
        fields.append(FieldSpec(name, (x, y, w, h), kind, cells, str(item.get("pattern", "DDMMYYYY" if kind == "date" else "")),
                                int(item.get("length", 0)), float(item.get("skip_left", 0.0)),
                                str(item.get("closing", "")), float(item.get("sign_left", 0.0))))
    if len({f.name for f in fields}) != len(fields):
        raise BadArgument(f"{where}: field names must be unique")
    frame = data.get("frame")
    inches = data.get("inches")
    if inches is not None and not (isinstance(inches, list) and len(inches) == 2
                                   and all(isinstance(v, (int, float)) and v > 0 for v in inches)):
        raise BadArgument(f"{where}: inches must be [width, height], the form's printed size")
    return Template(str(data.get("name", "template")), tuple(fields),
                    tuple(float(v) for v in frame) if frame else None, str(data.get("description", "")),
                    inches=tuple(float(v) for v in inches) if inches else None)


def dump_template(template: Template) -> str:
    """YAML text of a template."""
    data = {"name": template.name}
    if template.description:
        data["description"] = template.description
    if template.frame:
        data["frame"] = [round(v, 4) for v in template.frame]
    if template.inches:
        data["inches"] = [round(v, 3) for v in template.inches]
    data["fields"] = []
    for f in template.fields:
        item = {"name": f.name, "box": [round(v, 4) for v in f.box], "kind": f.kind}
        if f.cells:
            item["cells"] = f.cells
        if f.pattern:
            item["pattern"] = f.pattern
        if f.length:
            item["length"] = f.length
        if f.skip_left:
            item["skip_left"] = f.skip_left
        if f.closing:
            item["closing"] = f.closing
        if f.sign_left:
            item["sign_left"] = f.sign_left
        data["fields"].append(item)
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


def rules_frame(rules: np.ndarray) -> tuple[float, float, float, float] | None:
    """Where the printed rules of a page lie, (x0, y0, x1, y1) in shares of its size."""
    ys, xs = np.nonzero(rules)
    if xs.size == 0:
        return None
    h, w = rules.shape
    return (float(np.percentile(xs, 0.5)) / w, float(np.percentile(ys, 0.5)) / h,
            float(np.percentile(xs, 99.5)) / w, float(np.percentile(ys, 99.5)) / h)


def init_template(page, name: str, annotate: str | None = None) -> Template:
    """A template of the printed boxes and combs found on a page, fields numbered in reading order."""
    import cv2

    from .. import clean, layout
    from ..pages import ASSUMED_DPI

    dpi = page.dpi or ASSUMED_DPI
    cleaned = clean.clean_page(page.image, dpi=dpi)
    height = clean.estimate_digit_height(cleaned.gray, dpi)
    boxes = layout.find_boxes(cleaned.rules, height)
    if not boxes:
        raise BadArgument("no boxes found on this page: a template needs printed boxes or combs")
    H, W = cleaned.rules.shape
    fields = tuple(FieldSpec(f"field_{i}", (b.x / W, b.y / H, b.w / W, b.h / H),
                             "comb" if b.cells > 1 else "digits", b.cells if b.cells > 1 else 0)
                   for i, b in enumerate(boxes, start=1))
    made = Template(name, fields, rules_frame(cleaned.rules))
    if annotate:
        canvas = cv2.cvtColor(cleaned.gray, cv2.COLOR_GRAY2BGR)
        for f, b in zip(fields, boxes):
            cv2.rectangle(canvas, (b.x, b.y), (b.x + b.w, b.y + b.h), (0, 0, 220), 3)
            cv2.putText(canvas, f.name.split("_")[1], (b.x + 4, b.y + 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 220), 2)
        cv2.imwrite(str(annotate), canvas)
    return made
