"""Shared by the papers tests: where their pictures go, and a PDF's text as one line."""

from __future__ import annotations

from pathlib import Path

from tests.labels.decode import pdf_pages, pdf_text

PAPERS = Path(__file__).resolve().parents[1] / "test-artifacts" / "papers"


def flat_text(pdf: bytes) -> str:
    """The PDF's text, every run of whitespace one space: table cells wrap their words."""
    return " ".join("\n".join(pdf_text(pdf)).split())


def save_pages(pdf: bytes, name: str) -> None:
    """Each page as a PNG in test-artifacts/papers/, for a person to look at."""
    PAPERS.mkdir(parents=True, exist_ok=True)
    for number, page in enumerate(pdf_pages(pdf, dpi=110), 1):
        page.save(PAPERS / f"{name}-{number}.png")
