"""Rendered pieces with holes: templates rendered once with placeholders, filled per reader.

A template is rendered (and, for HTML, CSS-inlined) once with *probe* values: unique markers
(`Probe.slot`) where a reader's own values go. `parse` cuts the output at the markers into a
`Piece`: literal text and slots. `fill` then builds a reader's text by plain string joins,
which costs a small fraction of rendering and inlining the template again.

The result must be byte-identical to rendering the whole template with the reader's values
(tests/mail/test_digest_assembly.py holds the two side by side), so a slot escapes its value
as css-inline's HTML serializer (html5ever's rules) writes it after parsing the markupsafe-
escaped text: in text `&`, `<`, `>` and U+00A0 become entities, NUL is dropped; in attribute
values `&`, `"` and U+00A0 do, NUL becomes U+FFFD; CR and CR LF become LF everywhere. Which
of the two applies is read from where the marker landed in the serialized HTML.

Kinds of slots, each named in the probe by one or more markers:
- a value (`name`): text or an attribute value;
- a list joined by the template (`name#0`, `name#1` probed): the separator is learned;
- marked-up text (`name`, `name~`, `name$` probed around one `<mark>`): a value is a list of
  segments, alternately plain and marked, and the inlined `<mark …>` tags are learned;
- text to wrap (`wrap`): a text template's `wrap` filter over a probe becomes a part that
  fills its inside and wraps the result, so lines break exactly where they would have.

Markers are Unicode noncharacters (U+FDD0, U+FDD1, never in interchanged text) around a
random nonce, so no paper or address can forge one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ListSlot", "Piece", "Probe", "RichSlot", "Slot", "Wrap", "fill_into", "html_attr"]

_OPEN, _CLOSE = "\ufdd0", "\ufdd1"
_WRAP_BEGIN, _WRAP_END = "wrap(", "wrap)"
_TEXT_SPECIAL = re.compile("[&<>\u00a0\r\x00]")
_ATTR_SPECIAL = re.compile('[&"\u00a0\r\x00]')


def html_text(value: str) -> str:
    """`value` in HTML text as the serializer writes it (see the module docstring)."""
    if _TEXT_SPECIAL.search(value) is None:
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return value.replace("\u00a0", "&nbsp;")


def html_attr(value: str) -> str:
    """`value` in a double-quoted HTML attribute as the serializer writes it."""
    if _ATTR_SPECIAL.search(value) is None:
        return value
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("\u00a0", "&nbsp;")


def _plain(value: str) -> str:
    return value


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    escape: Callable[[str], str]

    def render(self, values: Mapping[str, Any]) -> str:
        return self.escape(str(values[self.name]))


@dataclass(frozen=True, slots=True)
class ListSlot:
    name: str
    escape: Callable[[str], str]
    separator: str

    def render(self, values: Mapping[str, Any]) -> str:
        return self.separator.join(map(self.escape, values[self.name]))


@dataclass(frozen=True, slots=True)
class RichSlot:
    """Segments [plain, marked, plain, …, plain]; marked ones between `open` and `close`."""

    name: str
    escape: Callable[[str], str]
    open: str
    close: str

    def render(self, values: Mapping[str, Any]) -> str:
        segments: Sequence[str] = values[self.name]
        if len(segments) == 1:
            return self.escape(segments[0])
        whole = "".join(segments)
        # Text with nothing to escape (the usual paper) is joined as it is.
        escape = _plain if self.escape(whole) is whole else self.escape
        out = [escape(segments[0])]
        for index in range(1, len(segments), 2):
            out += [self.open, escape(segments[index]), self.close, escape(segments[index + 1])]
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Wrap:
    inside: Piece
    wrap: Callable[[str], str]

    def render(self, values: Mapping[str, Any]) -> str:
        out: list[str] = []
        fill_into(out, self.inside, values)
        return self.wrap("".join(out))


Part = str | Slot | ListSlot | RichSlot | Wrap
Piece = tuple[Part, ...]


def fill_into(out: list[str], piece: Piece, values: Mapping[str, Any]) -> None:
    """Append `piece` with `values` in its slots to `out` (join `out` once, at the end)."""
    for part in piece:
        out.append(part if part.__class__ is str else part.render(values))  # type: ignore[union-attr]


@dataclass(frozen=True)
class Probe:
    """The markers of one compilation; `parse` understands only its own."""

    nonce: str = field(default_factory=lambda: secrets.token_hex(6))

    def slot(self, name: str) -> str:
        return f"{_OPEN}{self.nonce}{name}{_CLOSE}"

    def wrap_filter(self, wrap: Callable[[str], str]) -> Callable[[str], str]:
        """A `wrap` filter for probe renders: wrapping is put off until the text is known."""

        def deferred(text: str) -> str:
            if _OPEN not in text:
                return wrap(text)
            return self.slot(_WRAP_BEGIN) + text + self.slot(_WRAP_END)

        return deferred

    def split(self, text: str) -> list[str]:
        """Literal text at even indexes, marker names at odd ones."""
        return re.split(f"{_OPEN}{self.nonce}([^{_OPEN}{_CLOSE}]*){_CLOSE}", text)

    def parse(self, text: str, *, html: bool, wrap: Callable[[str], str] = _plain) -> Piece:
        """`text` (a rendered part, starting outside any tag) as literals and slots."""
        tokens = self.split(text)
        if any(_OPEN + self.nonce in literal for literal in tokens[::2]):
            raise ValueError("a probe marker was changed in rendering: a filter touched a value")
        stack: list[list[Part | _Name]] = [[]]
        state = _TEXT
        for index, found in enumerate(tokens):
            if index % 2 == 0:
                stack[-1].append(found)
                state = _advance(state, found) if html else state
            elif found == _WRAP_BEGIN:
                stack.append([])
            elif found == _WRAP_END:
                inside = _merge(stack.pop())
                stack[-1].append(Wrap(inside, wrap))
            else:
                stack[-1].append(_Name(found, _escaper(state) if html else _plain))
        if len(stack) != 1:
            raise ValueError("unbalanced wrap markers")
        return _merge(stack[0])


@dataclass(frozen=True, slots=True)
class _Name:
    name: str
    escape: Callable[[str], str]


_TEXT, _TAG, _QUOTED = 0, 1, 2
_TAG_CHARS = re.compile('[<>"]')


def _advance(state: int, literal: str) -> int:
    """Where serialized HTML stands after `literal`: text, inside a tag, or inside a
    double-quoted attribute value (the serializer quotes every attribute value with ")."""
    for found in _TAG_CHARS.finditer(literal):
        char = found.group()
        if state == _TEXT and char == "<":
            state = _TAG
        elif state == _TAG and char == ">":
            state = _TEXT
        elif state == _TAG and char == '"':
            state = _QUOTED
        elif state == _QUOTED and char == '"':
            state = _TAG
    return state


def _escaper(state: int) -> Callable[[str], str]:
    if state == _TEXT:
        return html_text
    if state == _QUOTED:
        return html_attr
    raise ValueError("a probe value landed inside a tag, outside any attribute value")


def _merge(parts: list[Part | _Name]) -> Piece:
    """Markers to slots (lists and marked text recognised by their probes), literals joined."""
    merged: list[Part] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        if isinstance(part, _Name):
            slot, index = _slot_at(parts, index)
            merged.append(slot)
            continue
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
        index += 1
    return tuple(merged)


def _slot_at(parts: list[Part | _Name], index: int) -> tuple[Part, int]:
    first = parts[index]
    assert isinstance(first, _Name)
    name = first.name
    if name.endswith("#0"):
        _, separator = _expect(parts, index, name[:-2] + "#1")
        return ListSlot(name[:-2], first.escape, separator), index + 3
    if parts[index + 2 : index + 3] and _named(parts[index + 2], name + "~"):
        _, opening = _expect(parts, index, name + "~")
        _, closing = _expect(parts, index + 2, name + "$")
        return RichSlot(name, first.escape, opening, closing), index + 5
    return Slot(name, first.escape), index + 1


def _named(part: Part | _Name, name: str) -> bool:
    return isinstance(part, _Name) and part.name == name


def _expect(parts: list[Part | _Name], index: int, name: str) -> tuple[_Name, str]:
    """The marker two places after `index` must be `name`; returns it and the literal between."""
    between, following = parts[index + 1 : index + 2], parts[index + 2 : index + 3]
    if not (between and isinstance(between[0], str) and following and _named(following[0], name)):
        raise ValueError(f"probe marker {name!r} is not where the template should put it")
    found = following[0]
    assert isinstance(found, _Name)
    return found, between[0]
