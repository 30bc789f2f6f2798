"""What every `satupeta` command group shares: the consoles, one way to fail, the settings, the error guard."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import orjson
import typer
from rich.console import Console

from geo_api.errors import SatuPetaError
from geo_api.settings import Settings, get_settings

console = Console(stderr=True, soft_wrap=True)  # messages and progress
out = Console()  # results a script may read

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear error line (never markup-interpreted) and exit non-zero."""
    console.print("[bold red]error:[/] ", end="")
    console.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The settings from the environment; a bad SATUPETA_* value is a clear error, not a traceback."""
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError
        fail(f"invalid configuration: {exc}")


def guard(fn: F) -> F:
    """Platform, database and file errors become one clear line and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import psycopg

        try:
            return fn(*args, **kwargs)
        except SatuPetaError as exc:
            report = exc.extra.get("report")
            fail(exc.detail + (f"\n{orjson.dumps(report).decode()}" if report else ""))
        except psycopg.Error as exc:
            text = str(exc).strip()
            fail(f"database: {text.splitlines()[0] if text else type(exc).__name__}")
        except OSError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]
