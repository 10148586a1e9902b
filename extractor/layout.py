"""Layout: where the fields of a page are.

Without a template, the fields are the boxes printed on the page (a row of touching cells, a comb,
is one field); a page without boxes is read as free lines of digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: A box's inside is at least this share of the digit height on each side, and at most this
#: many digit heights tall (taller frames are paragraphs, not fields).
BOX_MIN = 0.6
BOX_MAX_HEIGHT = 5.0
#: A box's inside fills at least this share of its bounding rectangle.
RECTANGULAR = 0.8


@dataclass(frozen=True)
class Field:
    """A named region of a page where one string is written, in page pixels."""

    name: str
    x: int
    y: int
    w: int
    h: int
    kind: str = "digits"
    cells: int = 0

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h


def find_boxes(rules: np.ndarray, digit_height: float) -> list[Field]:
    """The insides of printed boxes, in reading order, cells of a comb joined into one field."""
    contours, hierarchy = cv2.findContours(rules.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    insides = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0]):
        if parent < 0:  # outer outline of a rule, not a hole in it
            continue
        x, y, w, h = cv2.boundingRect(contour)
        if w < BOX_MIN * digit_height or h < BOX_MIN * digit_height or h > BOX_MAX_HEIGHT * digit_height:
            continue
        if cv2.contourArea(contour) < RECTANGULAR * w * h:
            continue
        insides.append((x, y, w, h))
    insides = _join_cells(sorted(insides, key=lambda b: (b[1], b[0])), digit_height)
    return [Field(f"box_{i}", x, y, w, h, kind="comb" if cells > 1 else "digits", cells=cells)
            for i, (x, y, w, h, cells) in enumerate(reading_order(insides), start=1)]


def _join_cells(boxes: list[tuple[int, int, int, int]], digit_height: float) -> list[tuple[int, int, int, int, int]]:
    """Join boxes side by side with the same top and bottom and a thin wall between (or none, where
    a one-pixel wall was drawn thinner than the scan keeps): comb cells."""
    joined: list[list[int]] = []
    for x, y, w, h in sorted(boxes, key=lambda b: (b[0], b[1])):
        for j in joined:
            jx, jy, jw, jh, cells = j
            same_row = abs(jy - y) < 0.2 * h and abs((jy + jh) - (y + h)) < 0.2 * h
            wall = x - (jx + jw)
            if same_row and -0.1 * digit_height <= wall < 0.25 * digit_height and w < 1.5 * h:
                j[2] = x + w - jx
                j[3] = max(jy + jh, y + h) - jy
                j[4] = cells + 1
                break
        else:
            joined.append([x, y, w, h, 1])
    return [tuple(j) for j in joined]


def reading_order(boxes):
    """Boxes in rows top to bottom (a row: boxes whose vertical middles overlap), left to right."""
    rows: list[list] = []
    for b in sorted(boxes, key=lambda b: b[1] + b[3] / 2):
        middle = b[1] + b[3] / 2
        if rows and any(r[1] <= middle <= r[1] + r[3] for r in rows[-1]):
            rows[-1].append(b)
        else:
            rows.append([b])
    return [b for row in rows for b in sorted(row, key=lambda b: b[0])]
