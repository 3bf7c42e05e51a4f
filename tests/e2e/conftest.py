"""The real service on a free port (uvicorn in a thread) and Chromium or Chrome, via Playwright.

The service runs its own event loop in a background thread over a fresh, seeded database;
``Served.call`` runs a coroutine on that loop, so a test can inject divergences through the
shadow engine of the very system the browser is looking at.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import create_database, drop_database
from tests.prereqs import check_chromium, find_chromium

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TOKEN = "e2e-ops-token"


@dataclass
class Served:
    """A running service: its URL, its system, and the loop it runs on."""

    url: str
    system: Any = None
    loop: asyncio.AbstractEventLoop | None = None
    server: Any = None
    ready: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run ``coro`` on the service's loop and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run_sync(self, fn: Any, *args: Any) -> Any:
        """Run a plain function on the service's loop thread (the engine is used from there)."""

        async def wrapped() -> Any:
            return fn(*args)

        return self.call(wrapped())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def serve(served: Served, database_url: str, port: int) -> None:
    """Open the system, attach the shadow engine, and serve until told to stop."""
    import uvicorn

    from app.bootstrap import open_system
    from app.service import create_app
    from app.settings import Settings
    from tests.integration.service.injection import attach_shadow

    settings = Settings(DATABASE_URL=database_url, flag_provider="postgres", ops_token=TOKEN)
    async with open_system(settings) as system:
        served.system = attach_shadow(system)
        served.loop = asyncio.get_running_loop()
        config = uvicorn.Config(
            create_app(system), host="127.0.0.1", port=port, log_level="warning"
        )
        served.server = uvicorn.Server(config)
        served.ready.set()
        await served.server.serve()


def run_in_thread(served: Served, database_url: str, port: int) -> None:
    """The service thread's body: its own event loop, errors kept for the fixture."""
    try:
        asyncio.run(serve(served, database_url, port))
    except BaseException as exc:  # reported by the fixture that waits for it
        served.error = exc
        served.ready.set()


def wait_until_healthy(served: Served, deadline_s: float = 30) -> None:
    """Poll ``/healthz`` until it answers 200."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if served.error is not None:
            raise RuntimeError("the service failed to start") from served.error
        try:
            if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("the service did not become healthy")


@pytest.fixture(scope="package")
def served() -> Iterator[Served]:
    """The service on a fresh seeded database, for the whole e2e package."""
    from persistence.migrate import upgrade
    from persistence.seed import seed_world

    url = create_database("dualpath_e2e")
    upgrade(url)
    seed_world(url, players=20, seed=11)
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}")
    thread = threading.Thread(target=run_in_thread, args=(served, url, port), daemon=True)
    thread.start()
    try:
        served.ready.wait(60)
        wait_until_healthy(served)
        yield served
    finally:
        if served.server is not None:
            served.server.should_exit = True
        thread.join(30)
        drop_database(url)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """The machine's Chromium or Chrome, headless, driven by Playwright (no browser download)."""
    executable = find_chromium()
    missing = check_chromium()
    if executable is None or missing is not None:
        pytest.fail("\n".join(missing.lines() if missing else ["no Chromium found"]))
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (its own session storage) at a readable size."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot in ``tests/e2e/artifacts``."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
