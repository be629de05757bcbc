"""How `--help` reads: click's plain conventions instead of Typer's type placeholders.

Typer labels every parameter with its Python type (`<bool>`, `<list[str]>`, `<int>`) and puts
required arguments in braces (`{email}`), which reads like code. Here a flag shows nothing,
a value shows what to type (TEXT, INTEGER, PATH, one|two) and an argument its name in capitals
(EMAIL, or [REVISION] when optional), as in every other Unix command; the command list shows the
first sentence of each command's help. Every command and group of `newsletter` is built from
`App`, so the rules hold everywhere.

This module is imported on every start (even for `--help`): it imports Typer and nothing of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

if TYPE_CHECKING:
    # Typer ships its own copy of click; its classes are the ones the overrides must match.
    from typer import _click as click

Function = TypeVar("Function", bound=Callable[..., Any])

_TYPE_NAMES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "NUMBER", Path: "PATH"}


def _value_metavar(annotation: Any, choices: Any) -> str:
    if choices:
        return "|".join(str(c.value if isinstance(c, Enum) else c) for c in choices)
    return _TYPE_NAMES.get(annotation, "TEXT")


def _plain_option(option: TyperOption) -> None:
    if option.metavar is not None:
        return
    if option.is_flag:
        option.metavar = ""  # --confirmed / --no-confirmed says it all
        return
    described = option.type_descriptor
    annotation = described.annotation
    if described.is_list:
        annotation = getattr(annotation, "__args__", (str,))[0]
    option.metavar = _value_metavar(annotation, described.choices)


class _PlainArgument(TyperArgument):
    """An argument shown as NAME (required) or [NAME], without a type column."""

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if self.nargs != 1:
            name += "..."
        return name if self.required else f"[{name}]"

    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "").upper()


def _plain(params: list[click.Parameter]) -> None:
    for param in params:
        if isinstance(param, TyperOption):
            _plain_option(param)
        elif type(param) is TyperArgument:
            param.__class__ = _PlainArgument  # same object, only the help display differs


class Command(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.short_help and self.help:
            self.short_help = _first_sentence(self.help)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        _plain(params)
        return params


def _first_sentence(text: str) -> str:
    """The command list shows one sentence per command (a docstring's line breaks, kept by
    rich, broke the list's lines mid-sentence)."""
    paragraph = " ".join(text.split("\n\n", 1)[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]


class Group(TyperGroup):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)  # with the help and shell-completion options
        _plain(params)
        return params


class App(typer.Typer):
    """A Typer app whose groups and commands show plain help (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Callable[[Function], Function]:
        kwargs.setdefault("cls", Command)
        decorator: Callable[[Function], Function] = super().command(name, **kwargs)
        return decorator
