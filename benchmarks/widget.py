"""The embeddable widget, measured as a visitor meets it:

    python benchmarks/widget.py [--runs 15]

1. Size: widget.js as served, raw and gzipped (level 9, what a CDN or the browser's transfer would
   be near), with its dependencies (it has none). Target: under 30 KB gzipped.
2. Time from the launcher's click to the first streamed words of an answer, in headless Chromium on
   a page of another origin, over a real local socket (the public local server, the extractive
   default, the demo corpus docs/): the question is typed as the panel opens, so the
   figure holds the WebSocket handshake, the question and the first delta. Also the click to the
   socket's open, and `sendMessage` to the first delta as the page sees them. p50 and p95 of --runs,
   each a fresh page (a new visitor, a new connection).
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "ragchat"))
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from ragchat.adapters.local.folder import FolderSource
from ragchat.bootstrap import build_core, build_local_server
from ragchat.config import Settings
from ragchat.evaluation.metrics import percentile
from tests.support.servers import running

WIDGET = ROOT / "layers" / "ragchat" / "ragchat" / "server" / "static" / "widget.js"
LIMIT_KB = 30
QUESTION = "How are changed files re-ingested?"
# Marks, in the page, the click, the socket's open, the question sent and the first answer text.
PROBE = """
window.__marks = {};
const NativeSocket = window.WebSocket;
window.WebSocket = class extends NativeSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('open', () => { window.__marks.open ??= performance.now(); });
  }
  send(data) {
    if (String(data).includes('sendMessage')) window.__marks.sent ??= performance.now();
    return super.send(data);
  }
};
document.addEventListener('DOMContentLoaded', () => {
  const widget = () => document.querySelector('ragchat-widget');
  const watch = setInterval(() => {
    if (!widget()) return;
    clearInterval(watch);
    const root = widget().shadowRoot;
    root.addEventListener('click', () => { window.__marks.click ??= performance.now(); }, true);
    new MutationObserver(() => {
      const body = root.querySelector('.msg.bot .body');
      if (body && body.textContent.trim()) window.__marks.delta ??= performance.now();
    }).observe(root, {subtree: true, childList: true, characterData: true});
  }, 5);
});
"""


def size_rows() -> list[tuple[str, str]]:
    raw = WIDGET.read_bytes()
    zipped = len(gzip.compress(raw, compresslevel=9))
    verdict = "under" if zipped < LIMIT_KB * 1024 else "OVER"
    return [("widget.js (no dependencies), raw", f"{len(raw) / 1024:.1f} KB"),
            ("widget.js, gzipped (level 9)", f"{zipped / 1024:.1f} KB ({verdict} the {LIMIT_KB} KB target)")]


def timings(runs: int, chromium: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    site = FastAPI()
    with tempfile.TemporaryDirectory() as tmp, running(site) as site_address:
        origin = f"http://localhost:{site_address.rsplit(':', 1)[1]}"
        settings = Settings(data_dir=Path(tmp) / "data", public_chat=True, allowed_origins=origin,
                            local_token="benchmark-owner", visitor_messages_per_minute=10_000,
                            visitor_messages_per_day=10_000, address_messages_per_minute=10_000,
                            address_messages_per_day=10_000)
        core = build_core(settings)
        for folder in (ROOT / "docs",):
            core.pipeline.sync(FolderSource(folder))
        local = build_local_server(settings, watch=None, core=core)
        core.embedder.embed_query("warm up")
        with running(local.app) as ragchat:
            html = (f'<!doctype html><html><head><script>{PROBE}</script></head><body><h1>A site</h1>'
                    f'<script src="http://{ragchat}/widget.js" data-title="Ask the docs"></script></body></html>')
            site.add_api_route("/", lambda: HTMLResponse(html), methods=["GET"])
            found: dict[str, list[float]] = {"click to socket open": [], "sendMessage to first delta": [],
                                             "click to first delta": []}
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=[
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                for _ in range(runs):
                    page = browser.new_context().new_page()
                    page.goto(origin + "/")
                    page.locator("ragchat-widget .launcher").click()
                    page.locator("ragchat-widget textarea").fill(QUESTION)
                    page.keyboard.press("Enter")
                    page.wait_for_function("window.__marks.delta !== undefined", timeout=30000)
                    marks = page.evaluate("window.__marks")
                    found["click to socket open"].append(marks["open"] - marks["click"])
                    found["sendMessage to first delta"].append(marks["delta"] - marks["sent"])
                    found["click to first delta"].append(marks["delta"] - marks["click"])
                    page.context.close()
                browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    rows = size_rows()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        rows.append(("click to first delta", "skipped: Chromium is not installed (make browser)"))
    else:
        for name, values in timings(args.runs, chromium).items():
            rows.append((f"{name}, p50 / p95 ({args.runs} fresh pages)",
                         f"{percentile(values, 50):.0f} / {percentile(values, 95):.0f} ms"))
    width = max(len(name) for name, _ in rows)
    print(f"{'what':<{width}}  figure")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
