"""The pages in a real browser (Debian's chromium through Playwright): content, no script
runs from a device name, screenshots for a human to look at in test-output/status/."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.state import StateStore
from agent.status import create_status_app, serve_status
from tests.agent.status import school
from tests.agent.status.test_status_server import free_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OUTPUT = Path(__file__).resolve().parents[3] / "test-output" / "status"


def _need_chromium() -> None:
    if CHROMIUM.exists() and shutil.which(str(CHROMIUM)):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt install chromium); browser tests skipped")


class ServerThread:
    """The status app served by `serve_status` in its own loop, on 127.0.0.1 only."""

    def __init__(self, store: StateStore, password: bool) -> None:
        self.app = create_status_app(school.settings(password=password), store, school.runtime)
        self.port = free_port()
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            event = asyncio.Event()
            self.task = asyncio.create_task(serve_status(self.app, "127.0.0.1", self.port, event))
            await event.wait()
            self.ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

        self.loop.run_until_complete(main())

    def __enter__(self) -> str:
        self.thread.start()
        assert self.ready.wait(15), "status page did not start"
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(15)
        self.loop.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StateStore]:
    store = school.fill_store(tmp_path_factory.mktemp("browser") / "state.sqlite3")
    yield store
    store.close()


PAGES = {
    "/": ["École élémentaire Jules Ferry", "Minimum atteint", "Débit sur 30 jours"],
    "/equipment": ["LaserJet Pro M404dn", "Epson", "lampe : avertissement", "Appareils personnels"],
    "/checklist": ["Un affichage collectif par classe", "non rempli"],
    "/agent": ["Configuration", "community=***", "Erreurs récentes"],
}


def test_pages_render_without_running_any_script(browser: object, module_store: StateStore) -> None:
    from playwright.sync_api import Browser, Dialog

    assert isinstance(browser, Browser)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    with ServerThread(module_store, password=False) as base:
        for width, label in ((1200, "desktop"), (390, "phone")):
            page = browser.new_page(viewport={"width": width, "height": 900}, locale="fr-FR")
            page.on("dialog", record)
            for path, expected in PAGES.items():
                response = page.goto(base + path)
                assert response is not None and response.status == 200
                text = page.inner_text("body")
                for needle in expected:
                    assert needle in text, (path, needle)
                name = path.strip("/") or "overview"
                page.screenshot(path=str(OUTPUT / f"{name}-{label}.png"), full_page=True)
                if path == "/":
                    chart = page.locator("svg.chart")
                    assert chart.locator("circle").count() == 2 * 120
                    chart.screenshot(path=str(OUTPUT / f"chart-{label}.png"))
            page.close()
        page = browser.new_page(locale="en-US")  # an English browser gets English
        page.on("dialog", record)
        page.goto(base + "/equipment")
        assert "Printers" in page.inner_text("body")
        assert page.get_by_text(school.XSS_NAME, exact=True).count() == 1  # shown as text
        assert page.locator("script").count() == 0
        page.goto(base + "/")
        assert "Minimum met" in page.inner_text("body")
        page.click("header .lang a")
        assert page.url.endswith("/?lang=fr") and "Minimum atteint" in page.inner_text("body")
        page.click("text=Équipements")
        assert "/equipment" in page.url and "Imprimantes" in page.inner_text("body")
        page.screenshot(path=str(OUTPUT / "equipment-after-navigation.png"))
        page.close()
    assert dialogs == []


def test_password_prompt_and_access(browser: object, module_store: StateStore) -> None:
    from playwright.sync_api import Browser
    from playwright.sync_api import Error as PlaywrightError

    assert isinstance(browser, Browser)
    with ServerThread(module_store, password=True) as base:
        anonymous = browser.new_context()
        for path in (*PAGES, "/api/v1/status", "/metrics"):
            answer = anonymous.request.get(base + path)
            assert answer.status == 401 and "Jules Ferry" not in answer.text(), path
            assert answer.headers["www-authenticate"].startswith("Basic")
        page = anonymous.new_page()
        with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
            page.goto(base + "/")  # the browser asks for a password; headless has none
        anonymous.close()
        authorised = browser.new_context(
            http_credentials={"username": "mairie", "password": school.PASSWORD}, locale="fr-FR"
        )
        page = authorised.new_page()
        for path in (*PAGES, "/api/v1/status", "/metrics"):
            response = page.goto(base + path)
            assert response is not None and response.status == 200, path
        authorised.close()
