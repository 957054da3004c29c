"""The real app in a real browser: `factory review` on the demo workspace, driven in headless
Chromium (Debian's /usr/bin/chromium) with playwright.

A reviewer gives a name, reviews three samples with the keyboard (approve; reject with a
reason; edit, save and approve), freezes a version and finds it on the Versions page. Every
page is saved as a screenshot in the test's folder, and also in $FACTORY_SCREENSHOTS when set.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from factory.versions import list_versions
from factory.workspace import Workspace
from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(demo_workspace: Workspace, tmp_path: Path) -> Iterator[str]:
    """`factory review --port P` in the demo workspace, as a user starts it; stopped after the test."""
    port = free_port()
    log = (tmp_path / "review.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "factory", "review", "--port", str(port)],
                              cwd=demo_workspace.root, env={**os.environ, "PYTHONPATH": str(REPO)},
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the app did not start:\n{(tmp_path / 'review.log').read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        log.close()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1800})
        page.set_default_timeout(TIMEOUT_MS)
        yield page
        browser.close()


def screenshot(page: Page, folder: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)  # charts and code blocks finish drawing after the last message
    page.screenshot(path=folder / f"{name}.png", full_page=True)
    if os.environ.get("FACTORY_SCREENSHOTS"):
        extra = Path(os.environ["FACTORY_SCREENSHOTS"])
        extra.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / f"{name}.png", extra / f"{name}.png")


def shown_sample_id(page: Page) -> str:
    caption = page.get_by_text(re.compile(r"· id [0-9a-f]{16}")).first.inner_text()
    return re.search(r"id ([0-9a-f]{16})", caption)[1]


def press(page: Page, key: str) -> None:
    """A key press as a reviewer makes it: with nothing focused (not typing into a field)."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)


def sign_in(page: Page, name: str, shots: Path | None = None) -> None:
    page.wait_for_load_state("networkidle")
    page.get_by_label("Your name").fill(name)
    if shots:
        screenshot(page, shots, "0-name")
    page.get_by_label("Your name").press("Enter")
    expect(page.get_by_text(f"Reviewing as {name}")).to_be_visible()


def open_page(page: Page, title: str) -> None:
    page.get_by_role("link", name=title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for()


def test_review_three_samples_by_keyboard_then_freeze_a_version(app_url, page, demo_workspace, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with demo_workspace.open_store() as store:
        pending = store.stats()["by_status"]["pending"]
    page.goto(app_url)
    sign_in(page, "ann", shots)
    expect(page.get_by_text(f"1 of {pending}", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    screenshot(page, shots, "1-queue")

    approved = shown_sample_id(page)
    press(page, "a")  # approve
    expect(page.get_by_text(f"1 of {pending - 1}", exact=True)).to_be_visible()

    rejected = shown_sample_id(page)
    press(page, "x")  # reject: the reason panel opens with the first finding's code chosen
    expect(page.get_by_role("button", name="Reject with this reason")).to_be_visible()
    screenshot(page, shots, "2-queue-reject")
    press(page, "Enter")
    expect(page.get_by_text(f"1 of {pending - 2}", exact=True)).to_be_visible()

    edited = shown_sample_id(page)
    press(page, "e")  # edit in place, save with Ctrl+Enter, then approve
    output = page.get_by_label("Output")
    output.fill("An answer a reviewer rewrote in the browser.")
    screenshot(page, shots, "3-queue-edit")
    output.press("Control+Enter")
    expect(page.get_by_text("the old text is in its history")).to_be_visible()
    press(page, "a")
    expect(page.get_by_text(f"1 of {pending - 3}", exact=True)).to_be_visible()

    with demo_workspace.open_store() as store:
        assert store.get(approved).status == "approved"
        assert store.get(rejected).status == "rejected" and store.history(rejected)[-1].changes["reason"]
        after = store.get(edited)
        assert (after.status, after.output) == ("approved", "An answer a reviewer rewrote in the browser.")
        for sample_id in (approved, rejected, edited):
            assert store.history(sample_id)[-1].actor == "reviewer:ann"

    for title in ("Table", "Dataset", "Jobs", "Runs"):
        open_page(page, title)
        screenshot(page, shots, title.lower())

    open_page(page, "Versions")
    page.get_by_role("button", name="Freeze version").click()
    expect(page.get_by_text(re.compile(r"Froze demo@v2"))).to_be_visible()
    expect(page.get_by_text("Edited", exact=True)).to_be_visible()  # v1 → v2: the diff is shown
    screenshot(page, shots, "versions")
    refs = [v.ref for v in list_versions(demo_workspace)]
    assert refs == ["demo@v1", "demo@v2"]
    v2 = list_versions(demo_workspace)[-1]
    records = {r["id"]: r for split in ("train", "eval") for r in v2.records(split)}
    assert records[edited]["output"] == "An answer a reviewer rewrote in the browser."
    assert approved in records and rejected not in records

    page.reload()  # a new session asks for the name again; the version is still listed
    sign_in(page, "bob")
    expect(page.get_by_role("heading", name="Versions", exact=True)).to_be_visible()  # still on Versions
    expect(page.get_by_text("demo@v2").first).to_be_visible()
    assert {p.name for p in shots.iterdir()} >= {"1-queue.png", "table.png", "dataset.png", "versions.png", "runs.png",
                                                  "jobs.png"}
