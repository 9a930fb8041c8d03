"""A real app in a real browser: `streamlit run` on a free port, driven by Debian's Chromium."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A localhost port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_app(workspace: Path, timeout: float = 120) -> Iterator[str]:
    """Serve app.py on ``workspace``; yield its URL; stop it afterwards."""
    port = free_port()
    env = {**os.environ, "CDP_WORKSPACE": str(workspace)}
    # The server's log goes to a file: a pipe nobody reads would stall a chatty server.
    with tempfile.TemporaryFile(mode="w+") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(f"streamlit did not start: {log.read()}") from None
                    time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, with no background network traffic."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
ARTIFACTS = ROOT / "tests" / "artifacts"


def settled(tab: Page, timeout: float = 60_000) -> None:
    """Wait until the app's script run has finished, so the next click meets the page as the
    user sees it (a click made while a run redraws the page may land on a stale widget)."""
    tab.wait_for_timeout(300)
    tab.locator(IDLE).wait_for(timeout=timeout)


@contextmanager
def shot_on_failure(tab: Page, name: str) -> Iterator[None]:
    """On any failure inside, keep a screenshot of the page as it was (tests/artifacts/)."""
    try:
        yield
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=ARTIFACTS / f"failed_{name}.png", full_page=True)
        raise
