"""`echo-bench` subcommands, one module per area; each has `register(subparsers)`. The core commands are in echo.cli."""

from __future__ import annotations

from echo.config import Config
from echo.store import Store


def open_store(config: Config, read_only: bool = False) -> Store:
    """The configured database (analysts use the snapshot instead: `echo-bench sql`)."""
    return Store(config.path("db"), read_only=read_only)
