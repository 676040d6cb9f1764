"""The import contract in pyproject.toml ([tool.importlinter]) holds: only consumers.db imports
the database driver; the core imports no broker client, driver, web client or CLI library, and
none of the stream, the sinks or the CLI. Imports inside functions count too."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contract_holds(monkeypatch):
    from importlinter.cli import lint_imports  # in the test: collecting it costs every test worker

    monkeypatch.chdir(ROOT)  # the root packages are found from the project folder
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
