"""divert: where police time goes, and what someone else could handle.

The core (`divert.*` modules other than `divert.cli` and `divert.stack`) is pure:
functions from records to records, with no broker and no database.
"""

__version__ = "0.1.0"
