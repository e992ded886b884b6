"""A real headless Chromium for tests (Debian's `chromium`, driven by Playwright).

`make setup` installs the `chromium` package when it is missing (see the Makefile); Playwright's
own browser download is not used. A missing browser fails the test: it is never skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    """PLANNER_CHROMIUM, else the first Chromium on PATH; fails the test when there is none."""
    explicit = os.environ.get("PLANNER_CHROMIUM")
    if explicit:
        return explicit
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium не найден: выполните `make setup` (ставит пакет chromium) "
        "или укажите путь в PLANNER_CHROMIUM",
        pytrace=False,
    )


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium with a fresh temporary profile (Playwright creates and removes it)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What a page did while loading: console errors, uncaught exceptions, requests, dialogs."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def open_file(
    browser: Browser, path: Path, *, width: int = 1280, height: int = 900
) -> tuple[Page, PageLog]:
    """Open a local HTML file and wait until it has loaded and drawn; log everything it does."""
    page = browser.new_page(viewport={"width": width, "height": height}, locale="ru-RU")
    log = PageLog()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type in ("error", "assert"):
            log.errors.append(f"console.{msg.type}: {msg.text}")

    def on_request(req: Request) -> None:
        log.requests.append(req.url)

    def on_dialog(dialog) -> None:
        log.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: log.errors.append(f"pageerror: {exc}"))
    page.on("request", on_request)
    page.on("dialog", on_dialog)
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot').length > 0", timeout=30_000
    )
    page.wait_for_timeout(300)  # let plotly finish its last relayout
    return page, log
