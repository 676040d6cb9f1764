"""The ``divert`` command line: a click group with one module per command.

Each module in this package exposes ``command`` (a click command or group); the group finds
them itself, so a new command is a new file. Commands are thin: they wire the core to files,
the broker and the database, and turn a :class:`~divert.exceptions.DivertError` into a
message and a non-zero exit.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from divert.exceptions import DivertError


class _Commands(click.Group):
    def _modules(self) -> list[str]:
        return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [m.replace("_", "-") for m in self._modules()]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = name.replace("-", "_")
        if module not in self._modules():
            return None
        return importlib.import_module(f"{__name__}.{module}").command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="divert")
def cli() -> None:
    """divert: which 911/CAD calls a crisis team or a civilian navigator could take,
    where policing diverges from reported crime, and what changes after a reallocation.

    Services: the embedded stack (`divert stack up`) unless DIVERT_KAFKA_BOOTSTRAP and
    DIVERT_DATABASE_URL name external ones.
    """


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except DivertError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(1)
