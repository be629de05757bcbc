"""Shared by the library import tests: the fixture files and a reader for them."""

from __future__ import annotations

from pathlib import Path

from newsletter.library import LibraryImport, read_library

DATA = Path(__file__).parent.parent / "data" / "library"


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def read_fixture(name: str) -> LibraryImport:
    return read_library(data(name), filename=name)


def problem_lines(result: LibraryImport) -> list[int]:
    return [problem.line for problem in result.problems]
