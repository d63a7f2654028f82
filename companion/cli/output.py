"""Small output helpers shared by commands: JSON on stdout, messages on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

err_console = Console(stderr=True, highlight=False)


def print_json(doc: Any) -> None:
    """Print one JSON document on stdout (NaN becomes null)."""
    sys.stdout.write(json.dumps(_clean(doc), indent=2, ensure_ascii=False) + "\n")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v) for v in value]
    return value
