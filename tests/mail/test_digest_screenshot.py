"""The digest as a browser draws it: headless Chromium screenshots in light and dark mode and
on a phone-sized window, decoded and checked for content and colours.

The PNGs stay in var/test-artifacts/ for a person to look at."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from newsletter.domain import Match
from newsletter.mail.render import DigestLinks, Masthead, PaperLinks, render_digest
from newsletter.matching.explain import term_matches
from newsletter.sources.files import parse_file_bytes
from newsletter.sources.huggingface import parse_daily_papers
from tests.conftest import read_data

pytestmark = pytest.mark.slow  # headless Chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
SITE = "https://digest.example.org"
# Stems, as the matcher's query features are.
FEATURES = {"contrast": 2.0, "languag model": 1.5, "agent": 1.0, "memori": 1.0}
# Blink's preferredColorScheme: 0 is dark, 1 is light. --force-dark-mode has the same effect
# on this Chromium, but names the operating system theme, not the page's colour scheme.
SCHEMES = {"dark": "preferredColorScheme=0", "light": "preferredColorScheme=1"}
Image = NDArray[np.uint8]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but Chromium is not installed: install the Debian `chromium` package")
    pytest.skip("Chromium is not installed (apt-get install chromium); screenshots not taken")


def real_digest(path: Path) -> None:
    """Real papers from recorded responses, highlighted the way the matcher does it."""
    papers = parse_daily_papers(read_data("hf_daily_papers.json")).papers
    listing = "arxiv_listing_atom_cs.AI_2025-08-20.xml"
    papers += parse_file_bytes(read_data(listing), what=listing).papers[:3]
    matches = []
    for paper in papers:
        terms, highlights = term_matches(paper, FEATURES)
        why = ("mentions " + ", ".join(f'"{term}"' for term in terms), "in cs.AI")
        matches.append(Match(paper=paper, score=0.8, why=why, highlights=tuple(highlights)))
    links = DigestLinks(
        view_in_browser=f"{SITE}/digest/tok",
        preferences=f"{SITE}/preferences/tok",
        unsubscribe=f"{SITE}/unsubscribe/tok",
        papers={m.paper.id: PaperLinks(f"{SITE}/more/tok", f"{SITE}/less/tok") for m in matches},
    )
    masthead = Masthead("Paper digest", "Example Lab · 1 Research Way · Cambridge, UK", SITE)
    rendered = render_digest(
        matches=matches,
        day=date(2025, 11, 28),
        recipient="ada@example.org",
        links=links,
        masthead=masthead,
    )
    path.write_text(rendered.html, encoding="utf-8")


def take_screenshots(page: Path, shots: dict[str, tuple[str, str]], work: Path) -> None:
    """All shots at once (Chromium starts slowly); each {name: (scheme, window size)}."""
    running = []
    for name, (scheme, size) in shots.items():
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={work / name}",  # separate profiles: no lock contention
            f"--blink-settings={SCHEMES[scheme]}",
            f"--screenshot={ARTIFACTS / f'digest-{name}.png'}",
            f"--window-size={size}",
            page.as_uri(),
        ]
        running.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for process in running:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output.decode(errors="replace")[-2000:]


def decode_png(data: bytes) -> Image:
    """An 8-bit non-interlaced RGB(A) PNG, as Chromium writes them, as (height, width, 3)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat = 8, []
    header: tuple[int, ...] = ()
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert (depth, interlace) == (8, 0), header
    assert colour in (2, 6), header
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    image = np.zeros((height, stride), dtype=np.uint8)
    above = np.zeros(stride, dtype=np.uint8)
    for row in range(height):
        start = row * (stride + 1)
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).copy()
        image[row] = unfilter(raw[start], line, above, bpp=bpp)
        above = image[row]
    return image.reshape(height, width, bpp)[:, :, :3]


def unfilter(kind: int, line: Image, above: Image, *, bpp: int) -> Image:
    if kind == 0:
        return line
    if kind == 1:  # Sub: a running sum per channel, modulo 256
        return np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
    if kind == 2:  # Up
        return line + above
    out, up = bytearray(line.tobytes()), above.tobytes()
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        if kind == 3:  # Average
            out[i] = (out[i] + ((left + up[i]) >> 1)) & 255
            continue
        corner = up[i - bpp] if i >= bpp else 0  # Paeth
        guess = left + up[i] - corner
        distances = (abs(guess - left), abs(guess - up[i]), abs(guess - corner))
        nearest = (left, up[i], corner)[distances.index(min(distances))]
        out[i] = (out[i] + nearest) & 255
    return np.frombuffer(bytes(out), dtype=np.uint8)


def colour_counts(region: Image) -> tuple[NDArray[np.uint32], NDArray[np.intp]]:
    """Distinct colours (packed as 0xRRGGBB: far faster to count than rows) and counts."""
    pixels = region.reshape(-1, 3).astype(np.uint32)
    packed = (pixels[:, 0] << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
    return np.unique(packed, return_counts=True)


def dominant(region: Image) -> tuple[int, int, int]:
    colours, counts = colour_counts(region)
    colour = int(colours[counts.argmax()])
    return colour >> 16, (colour >> 8) & 0xFF, colour & 0xFF


def luminance(colour: tuple[int, int, int]) -> float:
    red, green, blue = colour
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def check_not_blank(image: Image) -> None:
    colours, counts = colour_counts(image)
    assert len(colours) > 100  # anti-aliased text in several colours
    assert counts.max() / counts.sum() < 0.9  # not one flat colour


def test_digest_screenshots_light_dark_and_phone(tmp_path: Path) -> None:
    chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = tmp_path / "digest.html"
    real_digest(page)
    shots = {"light": ("light", "700,1400"), "dark": ("dark", "700,1400")}
    shots["phone"] = ("light", "390,1400")
    take_screenshots(page, shots, tmp_path)
    light, dark, phone = (
        decode_png((ARTIFACTS / f"digest-{name}.png").read_bytes()) for name in shots
    )
    print(f"screenshots: {ARTIFACTS}/digest-{{light,dark,phone}}.png")
    assert light.shape == dark.shape == (1400, 700, 3)
    for image in (light, dark, phone):
        check_not_blank(image)
    # The page background (outside the 600 px card) in each scheme, then the card itself.
    assert dominant(light[:, :40]) == (0xF4, 0xF4, 0xF5)
    assert dominant(dark[:, :40]) == (0x09, 0x09, 0x0B)
    assert luminance(dominant(light[:, 60:640])) > 240
    assert luminance(dominant(dark[:, 60:640])) < 40
    assert np.mean(np.any(light != dark, axis=2)) > 0.5
    # On a phone the card loses its margins (the max-width @media rule): white to the edge.
    assert dominant(phone[:, :4]) == (0xFF, 0xFF, 0xFF)
