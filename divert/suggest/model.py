"""The crosswalk suggester: an APCO code, a route and a confidence for an unseen call type.

How a type is read (in this order of trust):

1. an exact match with a labelled type of a known crosswalk;
2. a cue (``reference/crosswalks/dispatch_terms.yaml``): a word that carries the meaning of the
   call (mental, suicide, overdose, welfare, homeless, intoxicated; then lockout, keep the
   peace, landlord, animal, noise ...) proposes its code ahead of any lexical match — a suicide
   threat is not a threats case;
3. TF-IDF cosine over canonical words (abbreviations, radio and penal codes expanded, words
   cut short or stripped of vowels completed — in the training types too, since other CADs
   cut them) against the APCO descriptions and every labelled crosswalk; words that only say
   when or how urgent ("IN PROGRESS", "PAST", "INFORMATION") count for little next to words
   that say what. No character n-grams: their noise matched unrelated codes.

Safety does not depend on the suggestion being right: the type text — as written and as
read — goes through the guard (:func:`divert.crosswalk.violent_match`: the words of
``reference/crosswalks/guard.yaml``, the live path's guard too), which refuses a civilian or an
administrative route. A civilian route is also refused when a police-only code is close to the
top on words the top does not explain; when the nearest labelled types that share a telling
word are police-only; when the last word was cut to three letters or fewer (what it is
completed to is a guess); when a match by likeness rests only on words that say how or when
("COMPLAINT", "OTHER"), or — for the crisis team — on words the labelled types do not mostly
send to crisis ("CHECK", "DOWN"); and under :data:`CIVILIAN_MIN_CONFIDENCE`. Refused crisis
work goes to co-response, refused navigator work to police.

>>> from divert.crosswalk import load_crosswalk, load_apco_codes
>>> from divert.policy import load_policy
>>> s = Suggester([load_crosswalk("seattle")], load_apco_codes(), load_policy().route_for)
>>> r = s.suggest_one("WELFARE CHK")
>>> r.apco_code, r.route
('WELFARE', 'crisis')
>>> s.suggest_one("PERSON WITH KNIFE - WELFARE CHECK").route
'co_response'
>>> r = s.suggest_one("SUICIDE THREAT")
>>> r.apco_code, r.route
('SUICTHRT', 'co_response')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from divert.crosswalk import normalize_type, violent_match
from divert.suggest.families import POLICE_ONLY, POLICE_ONLY_CODES, code_family
from divert.suggest.terms import DispatchTerms, load_terms
from divert.suggest.text import Reader, stem

# No suggestion under this confidence is given a civilian route, however it was made.
CIVILIAN_MIN_CONFIDENCE = 0.5
CIVILIAN = ("crisis", "navigator")
APCO_WEIGHT = 0.85          # the APCO descriptions are the standard but terse
CUE_CONFIDENCE = 0.8
NEIGHBOUR_WEIGHTS = (1.0, 0.5, 0.25)
DOUBT_RATIO = 0.4           # a police-only candidate this close to the top refuses a civilian route
MODIFIER_WEIGHT = 0.3       # timing / urgency / size words say little about what the call is
SPECIFIC_SHARE = 0.5        # a crisis route by likeness needs a word mostly routed there


@dataclass(frozen=True)
class Candidate:
    code: str
    score: float
    reason: str
    # the type's words this candidate's labelled neighbours share: what it explains
    words: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@dataclass(frozen=True)
class Suggestion:
    call_type: str
    calls: int
    apco_code: str | None
    route: str
    confidence: float
    needs_review: bool
    basis: str
    candidates: tuple[Candidate, ...] = ()


def lexical_confidence(score: float, margin: float) -> float:
    """A TF-IDF score (0-1) and its margin over the next code → a confidence. Measured by
    leave-one-city-out (route agreement by score): about 0.55 at 0.1-0.2, 0.75 at 0.3,
    0.85 at 0.4, 0.9 at 0.5 and above; a clear margin adds a few points."""
    conf = 0.3 + 1.0 * score + 0.5 * min(margin, 0.3)
    return round(max(0.0, min(conf, 0.9)), 3)


class Suggester:
    """Proposes APCO codes for a new city's call types.

    ``crosswalks``: labelled crosswalks (``Crosswalk``); ``apco``: code → description;
    ``route_for``: the policy's code → route; ``published``: label-only vocabularies
    (objects with ``types`` of ``LabelledType``, e.g. Vera's categories) used as neighbours
    for the safety rule.
    """

    def __init__(self, crosswalks, apco: dict[str, str], route_for, review_below: float = 0.6,
                 published: Iterable = (), terms: DispatchTerms | None = None):
        self.route_for = route_for
        self.review_below = review_below
        self.terms = terms or load_terms()
        # cue words as the reader writes words ("WIRES" is read WIRE, "DEBRIS" DEBRI)
        self._cues = [(c, frozenset(map(stem, c.words)), frozenset(map(stem, c.unless)))
                      for c in self.terms.cues]
        raw: list[tuple[str | None, str, float, str, str]] = []  # code, family, weight, label, text
        for code, desc in apco.items():
            raw.append((code, code_family(code), APCO_WEIGHT, f"APCO {code}: {desc}", desc))
        self.exact: dict[str, tuple[str, float, str]] = {}
        for cw in crosswalks:
            for key, e in cw.entries.items():
                raw.append((e.apco_code, code_family(e.apco_code), e.confidence,
                            f"{cw.city}: {e.call_type}", key))
                self.exact.setdefault(key, (e.apco_code, e.confidence, f"{cw.city}: {e.call_type}"))
        for voc in published:
            for t in voc.types:
                raw.append((None, t.family, 1.0, f"{voc.city} ({t.family}): {t.call_type}", t.call_type))
        plain = [Reader(self.terms, {}).expand(text) for *_, text in raw]
        self.reader = Reader(self.terms, self._completion_vocabulary(plain))
        read = [self.reader.read(text, expanded)[0] for (*_, text), expanded in zip(raw, plain, strict=True)]
        df: dict[str, int] = {}
        feats = []
        for words in read:
            f: dict[str, float] = {}
            for w in words:
                f[w] = f.get(w, 0.0) + 1.0
            feats.append(f)
            for k in f:
                df[k] = df.get(k, 0) + 1
        n = len(raw)
        self.idf = {k: 1.0 + math.log(n / (1 + v)) for k, v in df.items()}
        self.unknown_weight = 1.0 + math.log(n + 1)
        self.docs = [(code, fam, w, label, self._unit(f))
                     for (code, fam, w, label, _), f in zip(raw, feats, strict=True)]
        # labelled types the guard reads as violent: police-only by a word the guard knows
        self.guarded = [bool(violent_match(text) or violent_match(" ".join(words)))
                        for (*_, text), words in zip(raw, read, strict=True)]
        self.index: dict[str, list[int]] = {}
        # word → route → labelled types with that word routed there: how much a word alone
        # says about where a call goes ("WELFARE" does, "CHECK" or "SERVICE" does not)
        self.word_routes: dict[str, dict[str, int]] = {}
        for i, d in enumerate(self.docs):
            route = self.route_for(d[0]) if d[0] is not None else None
            for k in d[4]:
                self.index.setdefault(k, []).append(i)
                if route is not None:
                    by_route = self.word_routes.setdefault(k, {})
                    by_route[route] = by_route.get(route, 0) + 1

    def _completion_vocabulary(self, texts: list[list[str]]) -> dict[str, int]:
        """Word → count over the training texts, for completing an unseen city's words. A word
        seen only at the end of strings and extending to a more frequent word ("FIREW" of
        FIREWORKS) was cut by some CAD: it is left out, so that it is completed too."""
        count: dict[str, int] = {}
        last: dict[str, int] = {}
        for words in texts:
            for w in words:
                count[w] = count.get(w, 0) + 1
            if words:
                last[words[-1]] = last.get(words[-1], 0) + 1
        for full in list(self.terms.abbreviations.values()) + [w for c in self.terms.cues for w in c.words]:
            for w in full.split():
                count.setdefault(w, 1)
        self.known_words = frozenset(count)  # whole words, even those some CAD also cut
        cut = {w for w, c in count.items()
               if last.get(w) == c and len(w) >= 3 and w.isalpha()
               and any(v != w and v.startswith(w) and count[v] > c for v in count)}
        return {w: c for w, c in count.items() if w not in cut}

    def _unit(self, feats: dict[str, float], query: bool = False) -> dict[str, float]:
        # a word no training vocabulary knows still counts in the norm: it is unexplained text
        vec = {k: v * self.idf.get(k, self.unknown_weight) for k, v in feats.items()}
        if query and any(k not in self.terms.modifiers for k in vec):
            # "ANIMAL INFORMATION" is an animal call; "INFORMATION" alone is an information call
            vec = {k: v * (MODIFIER_WEIGHT if k in self.terms.modifiers else 1.0) for k, v in vec.items()}
        norm = sum(v * v for v in vec.values()) ** 0.5 or 1.0
        return {k: v / norm for k, v in vec.items()}

    # --- reading -----------------------------------------------------------------------------

    def _lexical(self, words: list[str]) -> tuple[list[Candidate], dict[str, float]]:
        f: dict[str, float] = {}
        for w in words:
            f[w] = f.get(w, 0.0) + 1.0
        q = self._unit(f, query=True)
        sims: dict[int, float] = {}
        shared: dict[int, set[str]] = {}
        for k, v in q.items():
            for i in self.index.get(k, ()):
                sims[i] = sims.get(i, 0.0) + v * self.docs[i][4][k]
                shared.setdefault(i, set()).add(k)
        families: dict[str, float] = {}
        # the nearest labelled types, by family (for the safety rule); a type that shares only
        # words saying how or when ("TROUBLE", "IN PROGRESS") is no neighbour: "LANDLORD/TEN
        # TRB" is not "Officer In Trouble In Progress";
        # nor is a police-only type the guard reads as violent: this type passed the guard, so
        # it lacks the word that made that one police-only ("DV - STANDBY TO ASSURE PEACE" says
        # nothing against a civil standby)
        telling = [(i, sim) for i, sim in sims.items() if shared[i] - self.terms.modifiers
                   and not (self.docs[i][1] == POLICE_ONLY and self.guarded[i])]
        for i, sim in sorted(telling, key=lambda kv: -kv[1])[:8]:
            families[self.docs[i][1]] = families.get(self.docs[i][1], 0.0) + sim
        per_code: dict[str, list[tuple[float, str, int]]] = {}
        for i, sim in sims.items():
            code, _, w, label, _ = self.docs[i]
            if code is not None:
                per_code.setdefault(code, []).append((sim * w, label, i))
        ranked = []
        for code, hits in per_code.items():
            # several labelled neighbours agreeing outweigh one that shares a rare word
            hits.sort(key=lambda h: -h[0])
            used = hits[:len(NEIGHBOUR_WEIGHTS)]
            score = sum(h[0] * k for h, k in zip(used, NEIGHBOUR_WEIGHTS, strict=False)) / sum(NEIGHBOUR_WEIGHTS)
            words = frozenset().union(*(shared[h[2]] for h in used))
            ranked.append(Candidate(code, round(score, 3), f"like {hits[0][1]} ({hits[0][0]:.2f})", words))
        ranked.sort(key=lambda c: -c.score)
        return ranked, families

    def _cue(self, words: list[str], guarded: bool):
        """The first cue whose word is present, and the codes of the cues switched off by an
        ``unless`` word: "WIRES DOWN ARCING" is not a wires-down call, by cue or by likeness."""
        present = set(words)
        vetoed: set[str] = set()
        for cue, cue_words, unless in self._cues:
            hit = cue_words & present
            if not hit:
                continue
            if unless & present:
                vetoed.add(cue.code)
                continue
            if guarded and self.route_for(cue.code) not in CIVILIAN + ("co_response",):
                # a cue to administrative work ("PATROL") must not carry a type the guard
                # reads as violent away from police: the words decide, as without a cue
                continue
            return cue, sorted(hit)[0], vetoed
        return None, None, vetoed

    def suggest_one(self, call_type: str, calls: int = 0) -> Suggestion:
        key = normalize_type(call_type)
        words, notes = self.reader.read(call_type)
        ranked, families = self._lexical(words)
        read_as = " ".join(words)
        basis_extra = f"; read as {read_as!r}" if notes else ""
        cue, cue_word, vetoed = self._cue(words, bool(violent_match(call_type) or violent_match(read_as)))
        if vetoed:
            ranked = [c for c in ranked if c.code not in vetoed]
        lexical = False
        if key in self.exact:
            code, conf, label = self.exact[key]
            top = Candidate(code, conf, f"exact: {label}", frozenset(words))
        elif cue is not None:
            lex = next((c for c in ranked if c.code == cue.code), None)
            conf = round(max(CUE_CONFIDENCE, lexical_confidence(lex.score if lex else 0.0, 0.0)), 3)
            top = Candidate(cue.code, conf, f"cue {cue_word!r} → {cue.code}: {cue.reason}",
                            frozenset({cue_word}) | (lex.words if lex else frozenset()))
        elif ranked:
            second = ranked[1].score if len(ranked) > 1 else 0.0
            conf = lexical_confidence(ranked[0].score, ranked[0].score - second)
            top = ranked[0]
            lexical = True
        else:
            return self._finish(call_type, calls, None, 0.0, "no similar type known" + basis_extra,
                                (), families, read_as)
        cands = (top,) + tuple(c for c in ranked if c.code != top.code)[:2]
        return self._finish(call_type, calls, top.code, conf, top.reason + basis_extra, cands,
                            families, read_as, lexical, ranked)

    def route_share(self, word: str, route: str) -> float:
        """Share of the labelled types holding ``word`` that are routed to ``route``."""
        by_route = self.word_routes.get(word) or {}
        return by_route.get(route, 0) / (sum(by_route.values()) or 1)

    def _unspecific(self, explained: frozenset[str], route: str) -> str | None:
        """Why a lexical match is too weak to carry a civilian route, or None: the words it
        rests on only say how or when ("COMPLAINT", "OTHER", "REQUEST"); or, for the crisis
        team — a scarce team sent to a person — none of them mostly goes to crisis in the
        labelled types ("CHECK": premise checks are not welfare checks; "DOWN": trees and
        wires come down too). Refused crisis work still goes to co-response."""
        what = sorted(explained - self.terms.modifiers)
        if not what:
            return "it rests only on words that say how or when, not what"
        if route == "crisis" and max(self.route_share(w, route) for w in what) < SPECIFIC_SHARE:
            return f"its words ({', '.join(what)}) do not single out {route} work"
        return None

    def _finish(self, call_type, calls, code, conf, basis, cands, families, read_as,
                lexical: bool = False, ranked: list[Candidate] | None = None) -> Suggestion:
        route = self.route_for(code)
        review = conf < self.review_below
        if route == "admin" and (violent_match(call_type) or violent_match(read_as)):
            # administrative work is no answer to a type that reads as violent ("PATROL
            # REQUEST DOMESTIC", "HOME INVASION"): it goes to the police
            word = violent_match(call_type) or violent_match(read_as)
            route, review = "police", True
            basis += f"; guard: reads as violent ({word!r}) → police"
        if route in CIVILIAN:
            why = None
            word = violent_match(call_type) or violent_match(read_as)
            top = cands[0].score if cands else 0.0
            explained = cands[0].words if cands else frozenset()
            vague = self._unspecific(explained, route) if lexical else None
            # a police-only code is a doubt when it is close AND rests on words the top code
            # does not explain ("ASSIST the public" is not "ASSIST the officer"); any close one,
            # not only those among the three shown, so that the verdict does not hang on the
            # order of the runners-up
            others = [c for c in (ranked or cands) if c.code != code]
            close = [c.code for c in others if c.code in POLICE_ONLY_CODES
                     and c.score >= DOUBT_RATIO * top and c.words - explained - self.terms.modifiers]
            total = sum(families.values()) or 1.0
            # the last word as written (abbreviations expanded, nothing completed): a word of
            # three letters or fewer that no known type has was cut, and what it is completed
            # to ("INT" → INTOXICATED, of "CUSTODIAL INT-erference") is a guess; a single
            # letter always is ("ASSIST S-PD")
            plain = self.reader.expand(call_type)
            last = plain[-1] if plain else ""
            if word:
                why = f"guard: reads as violent ({word!r})"
            elif len(last) <= 3 and (len(last) == 1 or last not in self.known_words):
                # the string was cut a letter or two into its last word, which could be the
                # one that says police ("PROPERTY DAM-DV" → "PROPERTY D")
                why = f"cut word {last!r} may change the call"
            elif close:
                why = f"a police-only code is close ({close[0]})"
            elif families.get(POLICE_ONLY, 0.0) / total >= 0.4:
                why = "its nearest labelled types are police-only"
            elif vague:
                why = vague
            elif conf < CIVILIAN_MIN_CONFIDENCE:
                why = f"confidence {conf:.2f} < {CIVILIAN_MIN_CONFIDENCE} for a civilian route"
            if why:
                route = "co_response" if route == "crisis" else "police"
                review = True
                basis += f"; {why} → {route}"
        return Suggestion(call_type, calls, code, route, conf, review, basis, tuple(cands))

    def suggest(self, types: list[tuple[str, int]]) -> list[Suggestion]:
        return [self.suggest_one(t, c) for t, c in types]
