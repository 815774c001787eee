"""The chat page in headless Chromium (Debian's chromium, driven by Playwright) against the real
local server: upload, streamed answer, working citation, sanitised Markdown, history after reload,
reconnection."""

import shutil

import boto3
import pytest
from botocore.config import Config

from ragchat.adapters.aws.bedrock import BedrockConverseGenerator
from ragchat.bootstrap import build_core, build_local_server, build_sessions
from ragchat.config import Settings
from tests.fakes import BEDROCK_MODEL, FakeHashingEmbedder, ScriptedConverseRuntime, ScriptedGenerator
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


@pytest.fixture
def deployed_api(tmp_path, aws):
    """The HTTP API of a deployment: the app with presigned uploads to a bucket served by moto over
    real HTTP (with the CORS rule template.yaml sets), reachable from the page's origin."""
    from fastapi.middleware.cors import CORSMiddleware
    from moto.server import ThreadedMotoServer

    from ragchat.adapters.aws.s3_files import S3DocumentFiles
    from ragchat.documents import DocumentService
    from ragchat.server.app import HttpContext, create_app
    from ragchat.server.identity import local_identity
    from tests.support.template import resource

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    host, port = moto.get_host_and_port()
    s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=f"http://{host}:{port}",
                      config=Config(signature_version="s3v4"))
    s3.create_bucket(Bucket="docs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    rules = resource("DocumentsBucket")["Properties"]["CorsConfiguration"]["CorsRules"]
    cfn_to_api = {"MaxAge": "MaxAgeSeconds", "ExposedHeaders": "ExposeHeaders", "Id": "ID"}  # the two spellings
    s3.put_bucket_cors(Bucket="docs", CORSConfiguration={"CORSRules": [
        {cfn_to_api.get(name, name): value for name, value in rule.items()} for rule in rules]})
    settings = Settings(data_dir=tmp_path / "api")
    core = build_core(settings, embedder=FakeHashingEmbedder())
    app = create_app(HttpContext(
        store=core.store, sessions=build_sessions(settings), identity=local_identity(None),
        documents=DocumentService(core.store, S3DocumentFiles(core.store, "docs", client=s3), manage_shared=False),
        max_upload_bytes=settings.max_file_bytes, serve_page=False))
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])  # as HttpApi
    with running(app) as address:
        yield f"http://{address}", s3
    moto.stop()


def test_chat_page_uploads_through_a_presigned_url_where_the_deployment_asks_for_it(page, deployed_api):
    page, tmp_path = page
    api_url, s3 = deployed_api
    page.click("#settings-toggle")
    page.fill("#api-url", api_url)
    page.click("#settings-save")
    page.wait_for_selector("#status[data-state=open]", timeout=15000)
    upload = tmp_path / "quarterly report.md"
    upload.write_bytes(DOCUMENT)
    page.set_input_files("#upload", str(upload))
    page.wait_for_function("document.getElementById('notice').textContent.includes('uploaded')", timeout=30000)
    stored = s3.get_object(Bucket="docs", Key="uploads/local/quarterly report.md")["Body"].read()
    assert stored == DOCUMENT
