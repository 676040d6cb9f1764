"""The ``divert`` command line: a click group with one module per command.

Each module in this package exposes ``command`` (a click command or group); the group finds
them itself, so a new command is a new file. Commands are thin: they wire the core to files,
the broker and the database, and turn a :class:`~divert.exceptions.DivertError` into a
message and a non-zero exit.

An input error is one line on stderr naming the file (and line or key when known) and exit
code 1, never a traceback: the readers raise ``InputFileError`` / ``ConfigError`` with
``path:line: what is wrong``; ``main()`` prints it on one line, and, as a last resort, does
the same for an ``OSError`` the readers did not translate (permission denied, a folder where
a file was expected), naming ``exc.filename``. Programming errors still show their traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from divert.exceptions import DivertError, StackError


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
        # a stack error may carry a process's log tail; every other message is one line
        message = str(exc) if isinstance(exc, StackError) else _one_line(exc)
        click.secho(f"error: {message}", fg="red", err=True)
        sys.exit(1)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        where = f"{exc.filename}: " if exc.filename is not None else ""
        also = f" ({exc.filename2})" if exc.filename2 is not None else ""
        click.secho(f"error: {where}{_one_line(reason)}{also}", fg="red", err=True)
        sys.exit(1)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())
