"""Reading a call-type string as dispatch language: phrases, codes, abbreviations, and words
cut short or stripped of vowels completed against the words the training vocabulary knows.

>>> from divert.suggest.terms import load_terms
>>> r = Reader(load_terms(), {"DISTURBANCE": 9, "MENTAL": 5, "HEALTH": 2, "HEAT": 1, "VIOLENT": 3,
...                            "WELFARE": 4, "SHOPLIFT": 2})
>>> r.words("MENTAL HEA"), r.words("HEA"), r.words("WLFR CHK"), r.words("SHOPLIFTER")
(['MENTAL'], ['HEALTH'], ['WELFARE', 'CHECK'], ['SHOPLIFT'])
>>> r.words("415 DISTURBANC"), r.words("121D_Mental Disorder Violnt Wp")
(['DISTURBANCE', 'DISTURBANCE'], ['MENTAL', 'DISORDER', 'VIOLENT', 'WEAPON'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from divert.crosswalk import normalize_type
from divert.suggest.terms import DispatchTerms

_SPLIT = re.compile(r"[A-Z0-9][A-Z0-9.]*")
_PREFIX = re.compile(r"^\d+[A-Z]?_")
_CODE = re.compile(r"^(?:10-?\d{1,3}|\d{3,5}(?:\.\d+)?[A-Z]?)$")
_TEN_CODE = re.compile(r"(?<![A-Z0-9])10 ?- ?(\d{1,3})(?![0-9])")
STOPWORDS = frozenset({"THE", "OF", "AND", "OR", "A", "AN", "TO", "FOR", "ETC", "INCLUDES", "INCL",
                       "INCLUDING", "ON", "AT", "BY", "IS"})


def stem(w: str) -> str:
    """A plural dropped (WIRES → WIRE), as the reader writes every word."""
    if len(w) > 4 and w.endswith("S") and not w.endswith(("SS", "US", "IS")):
        return w[:-1]
    return w


def _skeleton(word: str, collapse: bool = False) -> str:
    """First letter and the consonants after it: WELFARE → WLFR; with ``collapse`` doubled
    letters once (HOMELESS → HMLS)."""
    out = word[0]
    for c in word[1:]:
        if c not in "AEIOUY" and not (collapse and c == out[-1]):
            out += c
    return out


_SUFFIXES = ("ING", "ERS", "ER", "ED")


def _subsequence(short: str, word: str) -> bool:
    it = iter(word)
    return all(c in it for c in short)


class Reader:
    """Turns a call type into canonical words. ``vocabulary`` counts the words of the training
    vocabulary (already canonical); a word outside it is expanded (abbreviation, code) or
    completed (truncated or vowel-stripped) to the most frequent word it can stand for."""

    def __init__(self, terms: DispatchTerms, vocabulary: Mapping[str, int]):
        self.terms = terms
        self.vocab = dict(vocabulary)
        self._phrases = sorted(terms.phrases.items(), key=lambda kv: -len(kv[0]))
        # the phrases a string can be cut in: (phrase, its words before the last, with the space);
        # a cut two letters into the last word holds those words, so a string without them is skipped
        self._cuttable = [(short, short[:short.rfind(" ") + 1]) for short, _ in self._phrases
                          if short.rfind(" ") >= 0 and short[-1].isalpha()]
        self._cache: dict[str, tuple[str, str]] = {}
        # what a cut or vowel-stripped word may stand for → (canonical word, count): the
        # vocabulary, and the long one-word abbreviation keys (BHVRL → BEHAVIORAL → MENTAL)
        self._targets = {w: (w, c) for w, c in self.vocab.items()}
        for short, full in terms.abbreviations.items():
            if len(short) >= 6 and short not in self._targets:
                self._targets[short] = (full, 1)

    def _cut_phrase(self, s: str) -> str:
        """A string cut two or more letters into the last word of a phrase ends in that phrase
        ("MENTAL HEA" → "MENTAL HEALTH")."""
        tail = s.rstrip()
        for short, head in self._cuttable:
            if head not in tail:
                continue
            for n in range(len(short) - 1, len(head) + 1, -1):
                cut = short[:n]
                if tail.endswith(cut) and (len(tail) == len(cut) or not tail[-len(cut) - 1].isalnum()):
                    return tail[:-len(cut)] + short + " "
        return s

    def expand(self, text: str) -> list[str]:
        """Words after phrases, codes and abbreviations; not yet completed."""
        # a CAD's own numeric prefix ("131B_Traffic Acc", "*Burglary_Past") says nothing
        s = " " + _PREFIX.sub("", normalize_type(text).lstrip("*")).replace("_", " ").strip() + " "
        s = _TEN_CODE.sub(lambda m: " 10-" + m.group(1) + " ", s)
        s = self._cut_phrase(s)
        s = self._replace_phrases(s)
        out: list[str] = []
        for tok in _SPLIT.findall(s):
            tok = tok.rstrip(".")
            if _CODE.match(tok):
                full = self.terms.codes.get(tok) or self.terms.codes.get(tok.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
                if full:
                    out.extend(full.split())
                continue  # an unknown number (a CAD's own code prefix) says nothing
            full = self.terms.abbreviations.get(tok)
            out.extend(full.split() if full else [tok])
        # a phrase written with abbreviations ("ASST PUBLIC", "CIV STBY") is the phrase: a second
        # pass over the expanded words, for the phrases the first pass could not see
        expanded = " " + " ".join(out) + " "
        again = self._replace_phrases(expanded, unless_in=s)
        if again != expanded:
            out = again.split()
        return [stem(w) for w in out if w not in STOPWORDS]

    def _replace_phrases(self, s: str, unless_in: str = "") -> str:
        for short, full in self._phrases:
            if short in s and short not in unless_in:
                s = re.sub(r"(?<![A-Z0-9])" + re.escape(short) + (r"(?![A-Z0-9])" if short[-1].isalnum() else ""),
                           " " + full + " ", s)
        return s

    def complete(self, word: str, last: bool = False) -> tuple[str, str]:
        """(canonical word, how): the word itself, or the vocabulary word it was cut from."""
        key = f"{word}|{last}"
        hit = self._cache.get(key)
        if hit:
            return hit
        hit = (word, "")
        root = stem(word)
        if word in self.vocab:
            hit = (word, "")
        elif root in self.vocab:
            hit = (root, "")
        elif word.isalpha() and len(word) >= 3:
            hit = self._cut_or_stripped(word, last) or hit
        self._cache[key] = hit
        return hit

    def _cut_or_stripped(self, word: str, last: bool) -> tuple[str, str] | None:
        targets = self._targets

        def best(found: list[str]) -> str:
            return targets[max(found, key=lambda v: (targets[v][1], -len(v)))][0]

        # a word cut short: any prefix of 4+ letters, 3 only at the end of the string
        if len(word) >= 4 or last:
            pre = [v for v in targets if v.startswith(word) and len(v) > len(word)]
            if pre:
                return best(pre), "cut"
        # the same root with another ending: SHOPLIFTER → SHOPLIFT, SOLICITING → SOLICITATION
        for suffix in _SUFFIXES:
            root = word[:-len(suffix)]
            if word.endswith(suffix) and len(root) >= 5:
                same = [v for v in targets if v.startswith(root)]
                if same:
                    return best(same), "root"
        # vowels dropped: WLFR → WELFARE, SCD → SUICIDE (the whole consonant skeleton), or a
        # longer abbreviation that keeps the word's letters in order (DISTRBNC)
        if all(c not in "AEIOU" for c in word[1:]):
            # a doubled letter written twice must be in the word (BTTRY is not BOATER)
            collapse = _skeleton(word, collapse=True) == _skeleton(word)
            bones = [v for v in targets if len(v) > len(word) and v[0] == word[0]
                     and _skeleton(v, collapse) == _skeleton(word, collapse)]
            if bones:
                return best(bones), "abbrev"
        if len(word) >= 4:
            sub = [v for v in targets if v[0] == word[0] and len(v) > len(word)
                   and len(word) >= 0.5 * len(v) and _subsequence(word, v)]
            if sub:
                return best(sub), "abbrev"
        return None

    def read(self, text: str, expanded: list[str] | None = None) -> tuple[list[str], list[str]]:
        """Canonical words and notes on what was completed ('HEA→HEALTH'); ``expanded`` is
        ``expand(text)`` when the caller has it already (it does not depend on the vocabulary)."""
        raw = self.expand(text) if expanded is None else expanded
        words, notes = [], []
        for i, w in enumerate(raw):
            if w in self.vocab:
                words.append(w)
                continue
            full, how = self.complete(w, last=i == len(raw) - 1)
            if how:
                notes.append(f"{w}→{full}")
            words.extend(full.split())
        return words, notes

    def words(self, text: str) -> list[str]:
        return self.read(text)[0]
