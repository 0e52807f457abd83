"""Debian's chromium, headless, driven by Playwright (never `playwright install`, which
downloads a browser): `make test` installs chromium when it is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_context(profile: Path, width: int, height: int = 900) -> Iterator:
    """A browser context with its own profile folder and a window of `width` pixels."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium est introuvable : `make test` l'installe (apt install chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=FLAGS,
            viewport={"width": width, "height": height},
        )
        yield context
        context.close()
