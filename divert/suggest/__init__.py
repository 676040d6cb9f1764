"""Drafting a new city's crosswalk: read its call types as dispatch language, propose APCO codes
with their reasons, and score the method leave-one-city-out (``divert crosswalk evaluate``)."""

from divert.suggest.model import CIVILIAN_MIN_CONFIDENCE, Candidate, Suggester, Suggestion

__all__ = ["CIVILIAN_MIN_CONFIDENCE", "Candidate", "Suggester", "Suggestion"]
