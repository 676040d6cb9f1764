"""Reading a call-type string as dispatch language: phrases, codes, abbreviations, and words
cut short or stripped of vowels completed against the words the training vocabulary knows.

>>> from divert.suggest.terms import load_terms
>>> r = Reader(load_terms(), {"DISTURBANCE": 9, "MENTAL": 5, "HEALTH": 2, "HEAT": 1, "VIOLENT": 3})
>>> r.words("MENTAL HEA")
['MENTAL', 'HEALTH']
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


def _stem(w: str) -> str:
    if len(w) > 4 and w.endswith("S") and not w.endswith(("SS", "US", "IS")):
        return w[:-1]
    return w


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
        self._cache: dict[str, tuple[str, str]] = {}

    def expand(self, text: str) -> list[str]:
        """Words after phrases, codes and abbreviations; not yet completed."""
        # a CAD's own numeric prefix ("131B_Traffic Acc", "*Burglary_Past") says nothing
        s = " " + _PREFIX.sub("", normalize_type(text).lstrip("*")).replace("_", " ").strip() + " "
        s = _TEN_CODE.sub(lambda m: " 10-" + m.group(1) + " ", s)
        for short, full in self._phrases:
            if short in s:
                s = re.sub(r"(?<![A-Z0-9])" + re.escape(short) + (r"(?![A-Z0-9])" if short[-1].isalnum() else ""),
                           " " + full + " ", s)
        out: list[str] = []
        for tok in _SPLIT.findall(s):
            tok = tok.rstrip(".")
            if _CODE.match(tok):
                full = self.terms.codes.get(tok) or self.terms.codes.get(tok.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
                if full:
                    out.extend(full.split())
                continue  # an unknown number (a CAD's own code prefix) says nothing
            if tok in self.vocab:
                out.append(tok)
                continue
            full = self.terms.abbreviations.get(tok)
            out.extend(full.split() if full else [tok])
        return [_stem(w) for w in out if w not in STOPWORDS]

    def complete(self, word: str, last: bool = False) -> tuple[str, str]:
        """(canonical word, how): the word itself, or the vocabulary word it was cut from."""
        key = f"{word}|{last}"
        hit = self._cache.get(key)
        if hit:
            return hit
        hit = (word, "")
        stem = _stem(word)
        if word in self.vocab:
            hit = (word, "")
        elif stem in self.vocab:
            hit = (stem, "")
        elif word.isalpha() and len(word) >= 3:
            # a word cut short: any prefix of 4+ letters, 3 only at the end of the string
            if len(word) >= 4 or last:
                pre = [v for v in self.vocab if v.startswith(word) and len(v) > len(word)]
                if pre:
                    hit = (max(pre, key=lambda v: (self.vocab[v], -len(v))), "cut")
            if not hit[1] and len(word) >= 4:
                sub = [v for v in self.vocab if v[0] == word[0] and len(v) > len(word)
                       and len(word) >= 0.5 * len(v) and _subsequence(word, v)]
                if sub:
                    hit = (max(sub, key=lambda v: (self.vocab[v], -len(v))), "abbrev")
        self._cache[key] = hit
        return hit

    def read(self, text: str) -> tuple[list[str], list[str]]:
        """Canonical words and notes on what was completed ('HEA→HEALTH')."""
        raw = self.expand(text)
        words, notes = [], []
        for i, w in enumerate(raw):
            if w in self.vocab:
                words.append(w)
                continue
            full, how = self.complete(w, last=i == len(raw) - 1)
            if how:
                notes.append(f"{w}→{full}")
            words.append(full)
        return words, notes

    def words(self, text: str) -> list[str]:
        return self.read(text)[0]
