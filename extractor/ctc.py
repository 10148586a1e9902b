"""What a sequence reader (CTC) says about one field: its per-step probabilities over the ten
digits and the blank, from which the N likeliest strings and the exact probability of any other
string follow. Our string reader and PP-OCRv6 both give one, so the decision over readers
(assemble.py) scores every reader's candidates under every reader the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Classes of a reading's steps: digits 0-9, then the blank ("no digit here").
BLANK = 10
#: In a reading that tells the marks people group an amount's digits with (``grouped``), the
#: eleventh class: a comma or a dot between digits. Its blank is then the blank without them.
GROUP = 11
#: A step's class below this probability is not followed by the N-best search: it changes no
#: candidate's rank within the few strings kept.
PRUNE = 1e-3
#: Strings kept at each step of the N-best search.
BEAM = 12
#: The log-probability given to a string a reader cannot spell at all (too long for its steps).
IMPOSSIBLE = -60.0


@dataclass(frozen=True)
class SequenceReading:
    """One field as a CTC reader read it: ``probs`` (steps, 11), digits then the blank, each step
    summing to 1; ``columns`` the field-crop columns per step (to box the digits)."""

    probs: np.ndarray = field(repr=False)
    columns: float = 1.0
    #: The same steps with the grouping marks apart ((steps, 12): digits, the blank without them,
    #: GROUP), where the reader tells them; None where it does not.
    grouped: np.ndarray | None = field(default=None, repr=False)
    #: Whether a text's log-probability counts the ways an amount's digits are grouped (as_amount).
    amount: bool = False
    _known: dict = field(default_factory=dict, repr=False, compare=False)  # text -> log-probability

    def as_amount(self) -> "SequenceReading":
        """The same reading, scoring each text as an amount written plainly or grouped (amount_forms);
        itself where the reader does not tell grouping marks apart."""
        return self if self.grouped is None else SequenceReading(self.probs, self.columns, self.grouped, True)

    def log_probability(self, text: str) -> float:
        """The log-probability of ``text`` (digits only): every path that spells it, summed."""
        return self.log_probabilities([text])[0]

    def log_probabilities(self, texts: list[str]) -> list[float]:
        """The log-probability of each of ``texts``, all in one pass over the steps (each text
        worked out once per reading). As an amount, a text's is the sum over the ways it may be
        written (amount_forms) of that form's, its grouping marks read as such: where the writer
        grouped the digits, a text grouped otherwise is unlikely (the comma of "95,40,000" is not
        a 1, and "44,20,00" has lost a zero)."""
        new = [t for t in dict.fromkeys(texts) if t not in self._known]
        if self.amount and new:
            forms = [amount_forms(t) for t in new]
            flat = list(dict.fromkeys(f for fs in forms for f in fs))
            found = dict(zip(flat, text_log_probabilities(self.grouped, flat)))
            self._known.update((t, float(np.logaddexp.reduce([found[f] for f in fs]))) for t, fs in zip(new, forms))
        else:
            self._known.update(zip(new, text_log_probabilities(self.probs, new)))
        return [self._known[t] for t in texts]

    def best_path(self) -> str:
        """The text of the likeliest path: repeats merged, blanks dropped."""
        best = self.probs.argmax(axis=1)
        keep = (best != BLANK) & np.r_[True, best[1:] != best[:-1]]
        return "".join(str(int(b)) for b in best[keep])

    def n_best(self, n: int = 5) -> list[tuple[str, float]]:
        """The ``n`` likeliest texts, best first, each with its exact log-probability."""
        if "n_best" not in self._known:
            texts = list(dict.fromkeys([self.best_path(), *prefix_beam(self.probs, BEAM)]))
            self._known["n_best"] = sorted(zip(texts, self.log_probabilities(texts)), key=lambda p: -p[1])
        return self._known["n_best"][:n]


@dataclass(frozen=True)
class Looks:
    """One reader's readings of the same field in several looks (the crop as cut, and as
    other_looks gives it), read as one: a text's log-probability is its mean over the looks, each
    counted at least ``floor``, and the candidates are the first look's. Where one look of a
    doubtful field is misled by how the crop was cut (its margins, its writer's spacing), the
    others outvote it."""

    looks: tuple[SequenceReading, ...]
    floor: float = IMPOSSIBLE

    def log_probabilities(self, texts: list[str]) -> list[float]:
        each = np.array([look.log_probabilities(texts) for look in self.looks])
        return [float(v) for v in np.maximum(each, self.floor).mean(axis=0)]

    def log_probability(self, text: str) -> float:
        return self.log_probabilities([text])[0]

    def best_path(self) -> str:
        return self.looks[0].best_path()

    def n_best(self, n: int = 5) -> list[tuple[str, float]]:
        texts = [t for t, _ in self.looks[0].n_best(n)]
        return sorted(zip(texts, self.log_probabilities(texts)), key=lambda p: -p[1])


def marks_as_blank(grouped: np.ndarray) -> np.ndarray:
    """A reading's (steps, 12) probabilities with the grouping marks apart, as (steps, 11): the
    marks read as "no digit here", the blank."""
    probs = grouped[:, : BLANK + 1].copy()
    probs[:, BLANK] += grouped[:, GROUP]
    return probs


def amount_forms(text: str) -> list[str]:
    """The ways an amount's digits are written: plainly, grouped in thousands (125,000) and grouped
    the Indian way (1,25,000), each mark written as a comma."""
    forms = [text]
    if len(text) > 3:
        head, tail = text[:-3], text[-3:]
        thousands = [head[max(0, k - 3): k] for k in range(len(head), 0, -3)][::-1]
        indian = [head[max(0, k - 2): k] for k in range(len(head), 0, -2)][::-1]
        forms += [",".join(thousands + [tail]), ",".join(indian + [tail])]
    return list(dict.fromkeys(forms))


def text_log_probability(probs: np.ndarray, text: str) -> float:
    """The log-probability a CTC output ((steps, 11), blank last) gives ``text``: the forward
    algorithm over every path that spells it, rescaled at each step so that long fields do not
    underflow. IMPOSSIBLE where no path spells it."""
    return text_log_probabilities(probs, [text])[0]


def text_log_probabilities(probs: np.ndarray, texts: list[str]) -> list[float]:
    """text_log_probability for many texts at once: their label sequences side by side, padded
    with labels no path reaches, through one forward pass. A comma in a text is the GROUP class
    (of a reading that has one)."""
    if not texts:
        return []
    if len(probs) == 0:
        return [IMPOSSIBLE if t else 0.0 for t in texts]
    width = max(2, 2 * max(len(t) for t in texts) + 1)
    labels = np.full((len(texts), width), BLANK, np.int64)
    valid = np.zeros((len(texts), width), bool)
    for k, text in enumerate(texts):
        labels[k, 1: 2 * len(text): 2] = [GROUP if ch == "," else int(ch) for ch in text]
        valid[k, : 2 * len(text) + 1] = True
    can_skip = np.zeros((len(texts), width), bool)
    can_skip[:, 2:] = (labels[:, 2:] != BLANK) & (labels[:, 2:] != labels[:, :-2])
    emitted = probs.astype(np.float64)[:, labels] * valid          # (steps, texts, width)
    alpha = np.zeros((len(texts), width))
    alpha[:, 0] = emitted[0, :, 0]
    alpha[:, 1] = emitted[0, :, 1] * (width > 1)
    total_log = np.zeros(len(texts))
    dead = np.zeros(len(texts), bool)
    for t in range(1, len(probs)):
        step = alpha.copy()
        step[:, 1:] += alpha[:, :-1]
        step[:, 2:] += alpha[:, :-2] * can_skip[:, 2:]
        alpha = step * emitted[t]
        total = alpha.sum(axis=1)
        dead |= total <= 0
        total = np.where(total > 0, total, 1.0)
        alpha /= total[:, None]
        total_log += np.log(total)
    out = []
    for k, text in enumerate(texts):
        end = alpha[k, 2 * len(text)] + (alpha[k, 2 * len(text) - 1] if text else 0.0)
        out.append(IMPOSSIBLE if dead[k] or end <= 0 else max(IMPOSSIBLE, float(total_log[k] + np.log(end))))
    return out


def prefix_beam(probs: np.ndarray, beam: int = BEAM) -> list[str]:
    """The texts the CTC prefix beam search keeps at the end (the likeliest first): each prefix's
    probability split into paths ending in a blank and in its last digit, so that "00" and "0"
    stay apart."""
    beams: dict[str, tuple[float, float]] = {"": (1.0, 0.0)}   # text -> (ends in blank, ends in digit)
    for step in probs.astype(np.float64):
        step = step / step.sum()
        classes = [int(c) for c in np.flatnonzero(step >= PRUNE) if c != BLANK]
        new: dict[str, list[float]] = {}
        for text, (pb, pd) in beams.items():
            total = pb + pd
            entry = new.setdefault(text, [0.0, 0.0])
            entry[0] += total * step[BLANK]
            if text:
                entry[1] += pd * step[int(text[-1])]   # the last digit held on
            for c in classes:
                grown = text + str(c)
                e = new.setdefault(grown, [0.0, 0.0])
                # after the same digit, only a blank between them writes it twice
                e[1] += (pb if text and int(text[-1]) == c else total) * step[c]
        ranked = sorted(new.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:beam]
        norm = sum(a + b for _, (a, b) in ranked) or 1.0
        beams = {t: (a / norm, b / norm) for t, (a, b) in ranked}
    return [t for t, _ in sorted(beams.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))]
