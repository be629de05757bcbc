"""Text analysis shared by every matcher: tokens with offsets, stems, stop words. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STEMMER = Stemmer.Stemmer("english")

# Snowball's English stop word list, inlined: no package ships it without a corpus download.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other ought our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    via using use used based""".split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class Token:
    stem: str
    start: int
    end: int
    stop: bool


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def tokens(text: str) -> list[Token]:
    """Every word of `text` with its stem and character span (case-insensitive)."""
    found = []
    for match in _WORD.finditer(text):
        word = match.group().casefold()
        found.append(Token(stem(word), match.start(), match.end(), word in STOP_WORDS))
    return found


def content_stems(text: str) -> list[str]:
    """Stems of the words that carry meaning, in order (`tokens` without the spans: this
    runs for every profile of every digest)."""
    words = (match.group().casefold() for match in _WORD.finditer(text))
    return [stem(word) for word in words if word not in STOP_WORDS]


def phrase_key(stems: list[str] | tuple[str, ...]) -> str:
    return " ".join(stems)
