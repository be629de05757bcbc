"""What a reader's model keeps of its examples to explain itself: per labelled example (in
the order fitted) its vector's key in the embedding cache, whether it was liked, and, for a
liked one, its title.

"Why am I getting this?" names the reader's own papers that pushed a paper up
(`explain.pushed_up_by` needs every example's vector, in fitted order): with the keys in the
model, the ranker reads those vectors from the cache it already has, so an explanation needs
neither the reader's stored examples nor their order at digest time. Titles of disliked
examples are never shown, so they are not kept. A note is a few dozen bytes; titles are cut
at `MAX_TITLE` characters.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

MAX_TITLE = 160  # characters of a liked example's title kept in the model
_COUNT = struct.Struct("<I")
_NOTE = struct.Struct("<?HH")  # liked, key bytes, title bytes


class NotesFormatError(ValueError):
    """Bytes that do not hold a model's example notes."""


@dataclass(frozen=True)
class ExampleNote:
    key: str  # `semantic.cache_key` of the example paper
    liked: bool
    title: str = ""  # liked examples only


def encode_notes(notes: Sequence[ExampleNote]) -> bytes:
    parts = [_COUNT.pack(len(notes))]
    for note in notes:
        key = note.key.encode()
        title = note.title[:MAX_TITLE].encode() if note.liked else b""
        if len(key) > 0xFFFF:
            raise ValueError("an example's cache key is too long to keep")
        parts += [_NOTE.pack(note.liked, len(key), len(title)), key, title]
    return b"".join(parts)


def decode_notes(blob: bytes, offset: int) -> tuple[ExampleNote, ...]:
    """The notes from `offset` to the end of `blob` (which they must fill exactly)."""
    try:
        (count,) = _COUNT.unpack_from(blob, offset)
        offset += _COUNT.size
        notes = []
        for _ in range(count):
            liked, key_size, title_size = _NOTE.unpack_from(blob, offset)
            offset += _NOTE.size
            key = blob[offset : offset + key_size].decode()
            offset += key_size
            title = blob[offset : offset + title_size].decode()
            offset += title_size
            notes.append(ExampleNote(key, bool(liked), title))
    except (struct.error, UnicodeDecodeError) as error:
        raise NotesFormatError("the model's example notes are truncated or damaged") from error
    if offset != len(blob):
        raise NotesFormatError("the model's example notes are truncated or padded")
    return tuple(notes)
