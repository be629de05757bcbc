"""Text cleanup for imported fields: LaTeX decoding, markup, control characters, length caps.

BibTeX fields are LaTeX; every other format carries plain Unicode (Zotero adds a little
HTML-like rich text to titles). The LaTeX decoder here is a single linear pass over a small,
fixed set of constructs (accents, special letters, escapes, text-formatting commands, dashes
and quotes, braces); math between ``$`` signs and unknown commands are kept verbatim, so an
abstract's ``$O(n^2)$`` survives. pylatexenc's full parser was measured at ~10 ms per KB
(minutes for a 5 MB library) and recurses on nested braces, so it is not used here.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_WHITESPACE = re.compile(r"\s+")
# Zotero's rich-text subset in titles (<i>, <b>, <sub>, <sup>, <sc>, <span class="nocase">).
_RICH_TEXT = re.compile(r"</?(?:i|b|em|strong|sub|sup|sc|span)(?:\s[^<>]{0,200})?>", re.IGNORECASE)

_ACCENTS = {  # LaTeX accent command -> combining character
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
    "t": "\u0361",
}
_WORDS = {  # control words that stand for text
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "l": "ł",
    "L": "Ł",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "i": "\u0131",  # dotless i
    "j": "\u0237",  # dotless j
    "dh": "ð",
    "DH": "Ð",
    "th": "þ",
    "TH": "Þ",
    "ng": "ŋ",
    "NG": "Ŋ",
    "dj": "đ",
    "DJ": "Đ",
    "textbackslash": "\\",
    "textasciitilde": "~",
    "textasciicircum": "^",
    "textunderscore": "_",
    "textbar": "|",
    "textless": "<",
    "textgreater": ">",
    "textendash": "\u2013",
    "textemdash": "\u2014",
    "textquoteleft": "\u2018",
    "textquoteright": "\u2019",
    "textquotedblleft": "\u201c",
    "textquotedblright": "\u201d",
    "textquotesingle": "'",
    "textquotedbl": '"',
    "textbullet": "•",
    "textdegree": "°",
    "textregistered": "®",
    "texttrademark": "™",
    "textcopyright": "©",
    "copyright": "©",
    "textsection": "§",
    "S": "§",
    "P": "¶",
    "dag": "†",
    "ddag": "‡",
    "ldots": "…",
    "dots": "…",
    "textellipsis": "…",
    "textperiodcentered": "·",
    "texteuro": "€",
    "euro": "€",
    "pounds": "£",
    "textsterling": "£",
    "guillemotleft": "«",
    "guillemotright": "»",
    "quad": " ",
    "qquad": " ",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "BibTeX": "BibTeX",
    # Greek letters written outside math mode ("\alpha-stable").
    **{
        name: chr(code)
        for name, code in (
            ("alpha", 0x3B1),
            ("beta", 0x3B2),
            ("gamma", 0x3B3),
            ("delta", 0x3B4),
            ("epsilon", 0x3B5),
            ("varepsilon", 0x3B5),
            ("zeta", 0x3B6),
            ("eta", 0x3B7),
            ("theta", 0x3B8),
            ("iota", 0x3B9),
            ("kappa", 0x3BA),
            ("lambda", 0x3BB),
            ("mu", 0x3BC),
            ("nu", 0x3BD),
            ("xi", 0x3BE),
            ("pi", 0x3C0),
            ("rho", 0x3C1),
            ("sigma", 0x3C3),
            ("tau", 0x3C4),
            ("upsilon", 0x3C5),
            ("phi", 0x3C6),
            ("varphi", 0x3C6),
            ("chi", 0x3C7),
            ("psi", 0x3C8),
            ("omega", 0x3C9),
            ("Gamma", 0x393),
            ("Delta", 0x394),
            ("Theta", 0x398),
            ("Lambda", 0x39B),
            ("Xi", 0x39E),
            ("Pi", 0x3A0),
            ("Sigma", 0x3A3),
            ("Phi", 0x3A6),
            ("Psi", 0x3A8),
            ("Omega", 0x3A9),
        )
    },
}
# Formatting commands: the command goes, its argument (a brace group) stays as text.
_DROPPED = frozenset(
    [
        "emph",
        "textit",
        "textbf",
        "textsc",
        "texttt",
        "textrm",
        "textsf",
        "textsl",
        "textup",
        "textmd",
        "textnormal",
        "mbox",
        "hbox",
        "text",
        "mathrm",
        "url",
        "it",
        "bf",
        "em",
        "sc",
        "rm",
        "sf",
        "tt",
        "sl",
        "up",
        "normalfont",
        "relax",
        "protect",
        "selectlanguage",
        "foreignlanguage",
        "textsuperscript",
        "textsubscript",
        "uppercase",
        "lowercase",
        "MakeUppercase",
        "MakeLowercase",
        "nocase",
        "NoCaseChange",
    ]
)
_SYMBOLS = {"\\": " ", " ": " ", ",": " ", ";": " ", ":": " ", "!": "", "-": "", "/": ""}

_LATEX = re.compile(
    r"""
    (?P<math>\$\$(?:[^$\\]|\\.)*\$\$|\$(?:[^$\\]|\\.)+\$)
    | \\(?P<acc>['`^"~=.])\s*(?:\{\s*(?P<accarg>\\[ij](?![A-Za-z])|[A-Za-z])?\s*\}
                               |(?P<accbare>\\[ij](?![A-Za-z])|[A-Za-z]))
    | \\(?P<wacc>[uvHckrdbt])(?:\s*\{\s*(?P<waccarg>\\[ij](?![A-Za-z])|[A-Za-z])?\s*\}
                              |\s+(?P<waccbare>[A-Za-z]))
    | \\(?P<word>[A-Za-z]+)(?P<space>[ \t\n]*)(?P<arg>\{[^{}\\$]{0,200}\})?
    | \\(?P<symbol>[^A-Za-z])
    | (?P<dash>---?)
    | (?P<quote>``|'')
    | (?P<brace>[{}])
    | (?P<tie>~)
    """,
    re.VERBOSE | re.DOTALL,
)


def _accented(accent: str, letter: str | None) -> str:
    if letter is None:  # \'{} on its own
        return ""
    base = letter[-1]  # \i and \j (dotless) take the accent as plain i and j
    return unicodedata.normalize("NFC", base + _ACCENTS[accent])


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    group = match.group
    if match.group("math") is not None:
        return group("math")
    if group("acc") is not None:
        return _accented(group("acc"), group("accarg") or group("accbare"))
    if group("wacc") is not None:
        return _accented(group("wacc"), group("waccarg") or group("waccbare"))
    if group("word") is not None:
        word, space, arg = group("word"), group("space"), group("arg")
        if word not in _WORDS and word not in _DROPPED:
            return match.group()  # unknown (\mathcal{O}, \cite{x}): kept for the reader
        # TeX swallows the spaces after a command word; keep one after longer words so
        # that "\LaTeX is" does not become "LaTeXis".
        spaced = space and word in _WORDS and len(word) > 2 and not arg
        text = _WORDS.get(word, "") + (" " if spaced else "")
        return text + (decode_latex(arg[1:-1]) if arg else "")
    if group("symbol") is not None:
        symbol = group("symbol")
        return _SYMBOLS.get(symbol, symbol)
    if kind == "dash":
        return "\u2014" if group("dash") == "---" else "\u2013"  # em, en dash
    if kind == "quote":
        return "\u201c" if group("quote") == "``" else "\u201d"
    if kind == "tie":
        return " "
    return ""  # a brace


def decode_latex(text: str) -> str:
    """``{\\"U}ber {{BERT}} \\& $O(n^2)$ --- \\emph{fast}`` -> ``Über BERT & $O(n^2)$ — fast``.

    Linear in the input; never raises.
    """
    if not any(char in text for char in "\\{}$~-`'"):
        return text
    return _LATEX.sub(_replace, text)


def strip_rich_text(text: str) -> str:
    """Zotero's rich-text tags in titles (``<i>E. coli</i>``) -> plain text."""
    return _RICH_TEXT.sub("", text) if "<" in text else text


def clean(text: str, *, limit: int) -> str:
    """One line of plain text: no control characters or lone surrogates, NFC, single spaces,
    at most `limit` characters (cut at a word boundary when one is near)."""
    text = _CONTROL.sub(" ", text)
    text = _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.8 else cut).rstrip()


def title_identity(title: str) -> str:
    """A loose form of a title for spotting the same paper twice: case, accents, punctuation
    and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    letters = (
        char if char.isalnum() else " " for char in decomposed if not unicodedata.combining(char)
    )
    return " ".join("".join(letters).split())


_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|2[01]\d\d)(?!\d)")


def find_year(text: str | None) -> int | None:
    """The first plausible year in a date field: ``2019``, ``2019-05-24``, ``2019/05/24/``,
    ``May 2019``."""
    if not text:
        return None
    match = _YEAR.search(text[:200])
    return int(match.group()) if match else None


def flip_name(name: str) -> str:
    """``Family, Given`` (Zotero CSV, RIS) -> ``Given Family``; RIS's ``Family, Given, Suffix``
    -> ``Given Family Suffix``; a name without a comma is returned as is."""
    parts = [part.strip() for part in name.split(",")]
    if len(parts) in (2, 3) and parts[1]:
        return " ".join(part for part in (parts[1], parts[0], *parts[2:]) if part)
    return " ".join(part for part in parts if part)
