"""The widget on a third-party page, in headless Chromium against the real local server in public
mode: a page served from another origin embeds it with one script tag, a visitor asks and sees the
streamed answer and a citation that links to the document's public address; the page's hostile CSS
and its own `id="question"` change nothing; the conversation survives a reload; a page of a site
that is not allowed cannot connect."""

import json
import shutil

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from ragchat.bootstrap import build_core, build_local_server
from ragchat.config import Settings
from tests.support.servers import running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")

HANDBOOK = """---
title: Holidays
url: https://handbook.example.com/holidays
---
# Holidays

Everyone gets 27 days of paid holiday a year, booked through the people portal.
"""
PRIVATE = "# Offer\n\nThe offer to Dana is 95,000 euros a year.\n"
QUESTION = "How many days of paid holiday do we get?"
HOSTILE_PAGE = """<!doctype html><html><head><title>A third-party site</title>
<style>
  * { font-size: 40px !important; color: red !important; background: yellow !important; display: block !important;
      visibility: visible !important; letter-spacing: 9px !important; }
  ragchat-widget, ragchat-widget * { display: none !important; }
  button, textarea, form { display: none !important; opacity: 0 !important; }
  div { transform: rotate(180deg) !important; }
</style></head>
<body><h1>Our shop</h1><textarea id="question">the host page's own text</textarea>
<script src="http://WIDGET_HOST/widget.js" data-title="Ask the handbook" data-greeting="Hello, visitor!"
        data-color="#aa3300" data-position="left"></script>
</body></html>"""


def third_party_site(html: str) -> FastAPI:
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return html

    return app


@pytest.fixture
def sites(tmp_path, real_embedder):
    """The ragchat server (public, one allowed site) and two third-party sites: allowed and not."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    drop = tmp_path / "drop"
    (drop / "uploads" / "local").mkdir(parents=True)
    (drop / "holidays.md").write_text(HANDBOOK)
    (drop / "uploads" / "local" / "offer.md").write_text(PRIVATE)
    allowed_app, other_app = FastAPI(), FastAPI()
    with running(allowed_app) as allowed_address, running(other_app) as other_address:
        allowed = f"http://localhost:{allowed_address.rsplit(':', 1)[1]}"
        settings = Settings(data_dir=tmp_path / "data", public_chat=True, allowed_origins=allowed,
                            local_token="owner-token")
        local = build_local_server(settings, watch=drop, core=build_core(settings, embedder=real_embedder))
        local.watcher.sync()
        with running(local.app) as ragchat_address:
            page = HOSTILE_PAGE.replace("WIDGET_HOST", ragchat_address)
            for app in (allowed_app, other_app):
                app.router.routes.extend(third_party_site(page).router.routes)
            with playwright_api.sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run"])
                yield browser, allowed + "/", f"http://localhost:{other_address.rsplit(':', 1)[1]}/"
                browser.close()


def frames_of(page) -> list[dict]:
    """Every frame the page's WebSockets receive, as they arrive."""
    received: list[dict] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: received.append(json.loads(payload))))
    return received


def test_widget_on_a_hostile_third_party_page_streams_an_answer_with_a_followable_citation(sites):
    browser, allowed_url, _ = sites
    page = browser.new_context().new_page()
    received = frames_of(page)
    page.goto(allowed_url)
    launcher = page.locator("ragchat-widget .launcher")
    assert launcher.bounding_box()["width"] == 56  # the page's display:none and 40px do not reach it
    launcher.focus()
    page.keyboard.press("Enter")  # keyboard only
    textarea = page.locator("ragchat-widget textarea")
    textarea.wait_for(state="visible")
    assert page.evaluate("document.querySelector('ragchat-widget').shadowRoot.activeElement.tagName") == "TEXTAREA"
    assert "Hello, visitor!" in page.locator("ragchat-widget .log").inner_text()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    source = page.locator("ragchat-widget .sources a").first
    source.wait_for(timeout=30000)

    answer = page.locator("ragchat-widget .msg.bot").last
    assert "27 days" in answer.locator(".body").inner_text()
    assert source.get_attribute("href") == "https://handbook.example.com/holidays"
    assert source.get_attribute("target") == "_blank" and "noopener" in source.get_attribute("rel")
    kinds = [f["type"] for f in received]
    assert "delta" in kinds and kinds.index("delta") < kinds.index("end")  # streamed, then ended
    answer.locator(".cite").first.click()  # the marker still shows the quoted passage
    passage = answer.locator(".passage").first
    passage.wait_for(state="visible")
    assert "27 days" in passage.inner_text()

    styles = page.evaluate("""() => {
        const root = document.querySelector('ragchat-widget').shadowRoot;
        const style = getComputedStyle(root.querySelector('.msg.bot p'));
        const panel = getComputedStyle(root.querySelector('.panel'));
        return {font: style.fontSize, color: style.color, transform: panel.transform};
    }""")
    assert styles == {"font": "15px", "color": "rgb(29, 35, 48)", "transform": "none"}
    host = page.evaluate("""() => ({
        value: document.getElementById('question').value, count: document.querySelectorAll('#question').length,
        sheets: document.styleSheets.length, color: getComputedStyle(document.getElementById('question')).color,
        children: [...document.body.children].map(e => e.tagName.toLowerCase())})""")
    assert host == {"value": "the host page's own text", "count": 1, "sheets": 1, "color": "rgb(255, 0, 0)",
                    "children": ["h1", "textarea", "script", "ragchat-widget"]}
    assert "95,000" not in json.dumps(received)

    page.reload()  # the conversation survives: the visitor id and the session are kept by the widget
    page.locator("ragchat-widget .launcher").click()
    page.locator("ragchat-widget .msg.user").first.wait_for(timeout=15000)
    assert QUESTION in page.locator("ragchat-widget .msg.user").first.inner_text()
    assert "27 days" in page.locator("ragchat-widget .msg.bot .body").last.inner_text()


def test_widget_on_a_site_that_is_not_allowed_cannot_connect(sites):
    browser, _, other_url = sites
    page = browser.new_context().new_page()
    received, sockets = frames_of(page), []
    page.on("websocket", lambda ws: sockets.append(ws))  # noqa: PLW0108 (Playwright cannot wrap a builtin method)
    page.goto(other_url)
    page.locator("ragchat-widget .launcher").click()
    page.locator("ragchat-widget textarea").fill(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_timeout(2000)
    assert sockets and all(ws.is_closed() for ws in sockets)  # refused at the handshake (403), retried, refused
    assert received == []
    assert page.locator("ragchat-widget .msg.bot .body").all_inner_texts() in ([], [""])


def test_widget_on_a_phone_opens_full_screen_and_escape_gives_focus_back(sites):
    browser, allowed_url, _ = sites
    page = browser.new_context(viewport={"width": 375, "height": 667}, has_touch=True).new_page()
    page.goto(allowed_url)
    launcher = page.locator("ragchat-widget .launcher")
    launcher.click()
    panel = page.locator("ragchat-widget .panel")
    panel.wait_for(state="visible")
    box = panel.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.querySelector('ragchat-widget').shadowRoot.activeElement.className") == "launcher"
