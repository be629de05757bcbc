"""Text analysis shared by every matcher: tokens with offsets, stems, stop words, sentences.
Pure.

Words are folded by a light stemmer that only removes plural endings (Harman's "S" stemmer:
models/model, studies/study, agents/agent) instead of Snowball: Snowball merges words a reader
keeps apart ("personality" and "person", "generalization" and "general", "agentic" and
"agent"); on both labelled sets the light stemmer measured better (benchmarks/ranking.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

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
    """Plural endings off (Harman 1991): -ies -> -y, -es -> -e, -s -> '' (not -us, -ss)."""
    if len(word) > 3:
        if word.endswith("ies") and not word.endswith(("eies", "aies")):
            return word[:-3] + "y"
        if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
            return word[:-1]
        if word.endswith("s") and not word.endswith(("us", "ss")):
            return word[:-1]
    return word


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


# Sentence ends: ., ! or ? (optionally closed by a quote or bracket) followed by space and
# a capital, a digit or an opening bracket; abbreviations such as "e.g." and "et al." do not end
# one. Good enough for abstracts, which is all it is used for.
_SENTENCE_END = re.compile('[.!?]["\'\u201d\u2019)\\]]*\\s+(?=[A-Z0-9(\\["\u201c])')
_NOT_AN_END = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|Fig|Eq|Sec|resp|approx|No)\.|\b[A-Z]\.)$"
)
MIN_SENTENCE = 20  # characters; shorter pieces join the next sentence


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace trimmed; never empty for a text
    with words."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + 1
        piece = text[start:end]
        if _NOT_AN_END.search(piece) or len(piece.strip()) < MIN_SENTENCE:
            continue
        spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        if spans and len(text[start:].strip()) < MIN_SENTENCE:
            spans[-1] = (spans[-1][0], len(text))
        else:
            spans.append((start, len(text)))
    trimmed = []
    for first, last in spans:
        piece = text[first:last]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            trimmed.append((first + left, first + right))
    return trimmed


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]
