"""docs/gallery.md is what scripts/make_gallery.py generates now, and its diagrams exist."""

from __future__ import annotations

import re
from pathlib import Path

from tests.loading import load_module

ROOT = Path(__file__).resolve().parent.parent


def load_script():  # noqa: ANN201 - a module object
    return load_module("make_gallery", ROOT / "scripts" / "make_gallery.py")


def test_gallery_is_current() -> None:
    committed = (ROOT / "docs" / "gallery.md").read_text()
    assert load_script().markdown() == committed, \
        "docs/gallery.md is stale: run python scripts/make_gallery.py --svg"


def test_gallery_diagrams_exist() -> None:
    text = (ROOT / "docs" / "gallery.md").read_text()
    images = re.findall(r"\]\((gallery/[\w.]+\.svg)\)", text)
    assert len(images) >= 14
    for image in images:
        assert (ROOT / "docs" / image).stat().st_size > 1000, image
