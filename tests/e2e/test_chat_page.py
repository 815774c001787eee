"""The chat page in headless Chromium (Debian's chromium, driven by Playwright) against the real
local server: upload, streamed answer, working citation, sanitised Markdown, history after reload,
reconnection."""

import shutil

import pytest

from ragchat.adapters.aws.bedrock import BedrockConverseGenerator
from ragchat.bootstrap import build_core, build_local_server
from ragchat.config import Settings
from tests.fakes import BEDROCK_MODEL, ScriptedConverseRuntime, ScriptedGenerator
from tests.support.servers import running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")

DOCUMENT = b"""# Staging runbook

## Credentials

The staging database password rotates every 17 days through the vault agent.

<script>window.__pwned = true</script>
<img src=x onerror="window.__pwned = true">
"""


@pytest.fixture
def page(tmp_path, real_embedder, request):
    """The page on the local server; indirect parametrisation may pass a generator factory."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    settings = Settings(data_dir=tmp_path / "data")
    make_generator = getattr(request, "param", None)
    local = build_local_server(settings, watch=tmp_path / "drop", core=build_core(settings, embedder=real_embedder),
                               generator=make_generator() if make_generator else None)
    local.watcher.start()
    with running(local.app) as address, playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        # CSP bypassed on purpose: the sanitiser alone must stop a document's script (the server's
        # CSP is a second wall, checked in tests/functional/test_local_server.py)
        page = browser.new_context(bypass_csp=True).new_page()
        page.goto(f"http://{address}/")
        page.wait_for_selector("#status[data-state=open]", timeout=15000)
        yield page, tmp_path
        browser.close()
    local.watcher.stop.set()


def upload_and_ask(page, tmp_path, question):
    """Upload the runbook through the page, ask, and wait for the answer with its sources."""
    upload = tmp_path / "staging-runbook.md"
    upload.write_bytes(DOCUMENT)
    page.set_input_files("#upload", str(upload))
    page.wait_for_function("document.getElementById('notice').textContent.includes('indexed')", timeout=30000)
    page.fill("#question", question)
    page.click("#send")
    answer = page.locator(".message.assistant").last
    answer.locator(".sources li").first.wait_for(timeout=30000)
    return answer


def test_chat_page_upload_ask_cite_reload(page):
    page, tmp_path = page
    answer = upload_and_ask(page, tmp_path, "How often does the staging database password rotate?")
    assert "17 days" in answer.locator(".body").inner_text()
    assert answer.locator("script").count() == 0
    assert page.evaluate("window.__pwned") is None

    answer.locator("a.cite").first.click()
    page.wait_for_selector("#source-panel:not([hidden]) .chunk.hit", timeout=10000)
    assert "17 days" in page.locator("#source-text .chunk.hit").inner_text()
    assert page.locator("#source-title").inner_text() == "Staging runbook"
    assert page.evaluate("window.__pwned") is None

    page.reload()
    page.wait_for_selector(".message.assistant .sources li", timeout=15000)
    assert "How often does the staging database password rotate?" in page.locator(".message.user").first.inner_text()
    assert "17 days" in page.locator(".message.assistant").first.inner_text()


def test_chat_page_reconnects_after_a_dropped_connection(page):
    page, tmp_path = page
    first = page.evaluate("state.socket")
    page.evaluate("state.socket.close()")
    page.wait_for_selector("#status[data-state=closed]", timeout=5000)
    page.wait_for_selector("#status[data-state=open]", timeout=15000)
    assert page.evaluate("(first) => state.socket !== first", first)  # a new socket, not the old one revived
    answer = upload_and_ask(page, tmp_path, "How often does the staging database password rotate?")
    assert "17 days" in answer.locator(".body").inner_text()
    page.wait_for_function("!document.getElementById('send').disabled", timeout=15000)


HOSTILE_ANSWER = (
    'It rotates every 17 days [1]. <img src=x onerror="window.__pwned = true">'
    '<script>window.__pwned = true</script><a href="javascript:window.__pwned = true" id="evil">click</a>'
)


@pytest.mark.parametrize("page", [lambda: ScriptedGenerator([HOSTILE_ANSWER])], indirect=True)
def test_chat_page_sanitises_markup_in_the_answer(page):
    """Model output (steered by a document) reaches the page as Markdown with raw HTML in it: the
    page's sanitiser must stop every script, handler and javascript: URL (the CSP is bypassed here)."""
    page, tmp_path = page
    answer = upload_and_ask(page, tmp_path, "How often does the staging database password rotate?")
    body = answer.locator(".body")
    assert "17 days" in body.inner_text()
    assert body.locator("script").count() == 0
    assert body.locator("img").count() == 1 and body.locator("img").get_attribute("onerror") is None
    assert body.locator("a[href^=javascript]").count() == 0
    body.locator("img").dispatch_event("error")
    assert page.evaluate("window.__pwned") is None


QUERY_WITH_MARKUP = 'staging database password <img src=x onerror="window.__pwned = true"> rotation'


def tool_model():
    """The real Bedrock adapter over a FAKE scripted model that searches, then cites what it found."""
    return BedrockConverseGenerator(BEDROCK_MODEL, client=ScriptedConverseRuntime([
        [("tool", "search_documents", {"query": QUERY_WITH_MARKUP})],
        [("text", "It rotates every 17 days [1].")],
    ]))


@pytest.mark.parametrize("page", [tool_model], indirect=True)
def test_chat_page_shows_tool_steps_as_they_happen(page):
    page, tmp_path = page
    answer = upload_and_ask(page, tmp_path, "How often does the staging password rotate?")
    step = answer.locator(".steps li")
    assert step.count() == 1 and step.get_attribute("data-status") == "done"
    assert step.inner_text() == f"Searching: {QUERY_WITH_MARKUP} — 1 passage from 1 document"  # shown as text
    assert answer.locator(".steps img").count() == 0
    assert answer.locator(".body").inner_text().strip() == "It rotates every 17 days [1]."
    assert "staging-runbook.md" in answer.locator(".sources li").first.inner_text()
    assert page.evaluate("window.__pwned") is None
