"""How many examples a property test draws: its full count under `make test`, a quarter of it
under `make test-unit` (``--hypothesis-profile=unit``, registered in tests/conftest.py), where
the same properties run on every change and the full search runs before a merge."""

from __future__ import annotations

from hypothesis import settings

FULL = 100   # max_examples of the `divert` profile (hypothesis's default): a test's count is scaled against it


def examples(full: int) -> int:
    """``full`` under the `divert` profile, scaled by the loaded profile's max_examples otherwise."""
    return max(10, full * settings.default.max_examples // FULL)
