"""A real browser for the dashboard tests: Playwright driving Debian's Chromium.

Browser downloads cannot be reached from the test machines, so Playwright is
pointed at the system's Chromium (installed by ``.ci/clients/browser.sh``, as
is axe-core for the accessibility check). One browser serves a test module;
every test opens its own context (cookies, permissions, viewport, credentials),
so tests stay independent. Pages only ever load 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    Page,
    Playwright,
    sync_playwright,
)

__all__ = [
    "AXE",
    "CHROMIUM",
    "PHONE",
    "Tab",
    "axe",
    "browser",
    "launch",
    "open_tab",
]

CHROMIUM = Path(os.environ.get("NORA_TEST_CHROMIUM", "/usr/bin/chromium"))
"""Debian's Chromium (``apt-get install chromium``); never a downloaded browser."""
AXE = Path(__file__).resolve().parents[2] / ".ci/tools/node_modules/axe-core/axe.min.js"
"""axe-core from the npm registry, installed by ``.ci/clients/browser.sh`` (git-ignored)."""
PHONE = {"width": 390, "height": 844}
"""A phone's viewport in CSS pixels."""
_ARGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this network refuses every outside host: don't try
    "--disable-component-update",
    "--disable-sync",
)


def launch(playwright: Playwright) -> Browser:
    """Chromium from the system, with a fresh profile (Playwright makes one per launch)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=list(_ARGS), timeout=60_000
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the tests of a module."""
    with sync_playwright() as playwright:
        launched = launch(playwright)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """A page in its own context, with what it showed besides its content.

    ``dialogs`` are the messages of every alert/confirm/prompt the page opened
    (a hostile name that ran script would open one); ``errors`` the uncaught
    script errors.
    """

    context: BrowserContext
    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.context.close()


def open_tab(
    browser: Browser,
    base_url: str,
    *,
    javascript: bool = True,
    viewport: dict[str, int] | None = None,
    credentials: tuple[str, str] | None = None,
    color_scheme: str = "light",
    clipboard: bool = False,
    bypass_csp: bool = False,
) -> Tab:
    """A new context and page on ``base_url`` (127.0.0.1 only), watched for dialogs.

    ``bypass_csp`` lets :func:`axe` inject its script into pages whose
    Content-Security-Policy forbids inline scripts; leave it off elsewhere so
    the policy the dashboard sends stays in force.
    """
    assert base_url.startswith("http://127.0.0.1:"), base_url
    options: dict[str, Any] = {
        "base_url": base_url,
        "java_script_enabled": javascript,
        "viewport": viewport or {"width": 1280, "height": 900},
        "color_scheme": color_scheme,
        "bypass_csp": bypass_csp,
    }
    if credentials is not None:
        options["http_credentials"] = {"username": credentials[0], "password": credentials[1]}
    context = browser.new_context(**options)
    context.set_default_timeout(20_000)
    if clipboard:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = context.new_page()
    tab = Tab(context=context, page=page)

    def on_dialog(dialog: Dialog) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    return tab


def axe(page: Page) -> list[dict[str, Any]]:
    """The serious and critical accessibility violations axe-core finds on ``page``.

    The page's tab needs ``bypass_csp`` when the page forbids inline scripts.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))"""
    )
    return list(found)
