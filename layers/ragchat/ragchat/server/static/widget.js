/* ragchat widget: one script tag adds a chat launcher to any page.
 *   <script src="https://HOST/widget.js" data-socket="wss://..." data-title="Ask us"
 *           data-greeting="Hi! Ask me about our docs." data-color="#0b5fff" data-position="right" defer></script>
 * Everything lives in a shadow root: the page's CSS cannot reach in, and nothing leaks out. Answers
 * are built from text nodes only (no HTML from the server is ever parsed). It speaks the WebSocket
 * protocol of docs/protocol.md as a visitor: `?visitor=<random id kept in localStorage>`. */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__ragchatWidget) return;
  window.__ragchatWidget = true;
  const data = script.dataset;
  const title = (data.title || "Ask a question").slice(0, 80);
  const greeting = (data.greeting || "Hi! Ask me anything about this site.").slice(0, 400);
  const color = /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(data.color || "") ? data.color : "#1f5fd6";
  const left = data.position === "left";
  const socketUrl = (() => {
    if (data.socket) return data.socket;
    const url = new URL("/ws", script.src);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  })();

  // -- what survives a reload: the visitor id and the conversation --------------------------------
  const memory = {};
  const store = {
    get(key) { try { return localStorage.getItem(key); } catch { return memory[key] || null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch { memory[key] = value; } },
    drop(key) { try { localStorage.removeItem(key); } catch { delete memory[key]; } },
  };
  const randomId = () => {
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const VISITOR = "ragchat.visitor";
  const SESSION = `ragchat.session:${socketUrl}`;
  let visitor = store.get(VISITOR);
  if (!/^[A-Za-z0-9_-]{22,128}$/.test(visitor || "")) { visitor = randomId(); store.set(VISITOR, visitor); }

  // -- the shadow root -----------------------------------------------------------------------------
  const host = document.createElement("ragchat-widget");
  host.style.setProperty("all", "initial", "important");  // inline !important: no page rule overrides it
  const root = host.attachShadow({ mode: "open" });
  const css = `
:host { all: initial; }
* { box-sizing: border-box; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; margin: 0; }
.launcher, .panel { position: fixed; ${left ? "left" : "right"}: 20px; z-index: 2147483647; }
.launcher { bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0; cursor: pointer;
  background: var(--accent); box-shadow: 0 4px 14px rgba(0,0,0,.25); display: grid; place-items: center; }
.launcher svg { width: 28px; height: 28px; fill: #fff; }
.panel { bottom: 88px; width: 370px; max-height: min(600px, calc(100vh - 110px)); display: flex; flex-direction: column;
  background: #fff; border-radius: 14px; box-shadow: 0 8px 30px rgba(0,0,0,.28); overflow: hidden; }
.panel[hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: var(--accent); }
header h2 { flex: 1; font-weight: 600; color: #fff; }
header button { background: none; border: 0; color: #fff; font-size: 22px; line-height: 1; cursor: pointer; padding: 2px 6px; }
.log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px; min-height: 200px; }
.msg { max-width: 88%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg p + p, .msg ul, .msg ol { margin-top: 6px; } .msg ul, .msg ol { padding-left: 20px; }
.user { align-self: flex-end; background: var(--accent); } .user, .user * { color: #fff; }
.bot { align-self: flex-start; background: #f0f2f6; }
.note { align-self: center; background: #fff6e0; font-size: 14px; text-align: center; }
.steps { font-size: 13px; color: #5b6474; list-style: none; padding: 0; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; background: #e3e6ee; padding: 0 3px; border-radius: 3px; }
a { color: var(--accent); } strong { font-weight: 700; } em { font-style: italic; }
.cite { border: 0; background: none; padding: 0 1px; color: var(--accent); cursor: pointer; font-size: 12px; vertical-align: super; }
.sources { list-style: none; padding: 0; margin-top: 8px; border-top: 1px solid #d8dce5; font-size: 13px; }
.sources li { padding-top: 6px; }
.sources button { border: 0; background: none; color: #5b6474; cursor: pointer; font-size: 12px; text-decoration: underline; }
.passage { margin-top: 4px; padding: 6px 8px; border-left: 3px solid var(--accent); background: #fff; font-size: 13px; white-space: normal; }
.passage[hidden] { display: none; }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e2e5ec; }
textarea { flex: 1; resize: none; border: 1px solid #c5cad6; border-radius: 8px; padding: 8px; height: 42px; }
form button { border: 0; border-radius: 8px; padding: 0 14px; background: var(--accent); color: #fff; font-weight: 600; cursor: pointer; }
form button:disabled { opacity: .5; cursor: default; }
:focus-visible { outline: 3px solid #ffb000; outline-offset: 2px; }
@media (max-width: 480px) {
  .panel { left: 0; right: 0; bottom: 0; width: auto; max-height: none; height: 100%; border-radius: 0; }
  .launcher { ${left ? "left" : "right"}: 14px; bottom: 14px; }
}`;
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet.prototype.replaceSync === "function") {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement("style");
    style.textContent = css;
    root.append(style);
  }

  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  };
  const wrap = el("div", { part: "widget" });
  wrap.style.setProperty("--accent", color);
  const launcher = el("button", { class: "launcher", type: "button", "aria-label": title, "aria-expanded": "false",
    "aria-controls": "ragchat-panel" });
  launcher.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16v11H7l-3 3z"/></svg>';
  const log = el("div", { class: "log", role: "log", "aria-live": "polite" });
  const input = el("textarea", { "aria-label": "Your question", maxlength: "4000", placeholder: "Type a question…" });
  const sendButton = el("button", { type: "submit", text: "Send" });
  const form = el("form", {}, input, sendButton);
  const close = el("button", { type: "button", "aria-label": "Close chat", text: "×" });
  const panel = el("div", { class: "panel", id: "ragchat-panel", role: "dialog", "aria-label": title, hidden: "" },
    el("header", {}, el("h2", { text: title }), close), log, form);
  wrap.append(panel, launcher);
  root.append(wrap);

  // -- answers as text nodes: paragraphs, lists, **bold**, *em*, `code`, [links](https://…), [n] ---
  const INLINE = /(\*\*[^*]+\*\*|\*[^*\s][^*]*\*|`[^`]+`|\[[^\]]+\]\(https?:\/\/[^\s)]+\)|\[\d+\])/g;
  function inline(text, turn) {
    const out = [];
    for (const piece of text.split(INLINE)) {
      if (!piece) continue;
      let m;
      if ((m = /^\[(\d+)\]$/.exec(piece))) out.push(citeButton(Number(m[1]), turn));
      else if ((m = /^\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)$/.exec(piece))) out.push(link(m[2], m[1]));
      else if (piece.startsWith("**") && piece.length > 4) out.push(el("strong", { text: piece.slice(2, -2) }));
      else if (piece.startsWith("`")) out.push(el("code", { text: piece.slice(1, -1) }));
      else if (piece.startsWith("*") && piece.length > 2) out.push(el("em", { text: piece.slice(1, -1) }));
      else out.push(document.createTextNode(piece));
    }
    return out;
  }
  function render(text, turn) {
    const blocks = [];
    for (const block of text.split(/\n{2,}/)) {
      const lines = block.split("\n").filter((line) => line.trim());
      if (!lines.length) continue;
      const bullets = lines.every((line) => /^\s*[-*] /.test(line));
      const numbers = lines.every((line) => /^\s*\d+[.)] /.test(line));
      if (bullets || numbers) {
        blocks.push(el(bullets ? "ul" : "ol", {}, ...lines.map((line) =>
          el("li", {}, ...inline(line.replace(/^\s*([-*]|\d+[.)]) /, ""), turn)))));
      } else blocks.push(el("p", {}, ...inline(lines.join("\n"), turn)));
    }
    return blocks;
  }
  function link(href, text) {
    return el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", text });
  }
  function citeButton(n, turn) {
    return el("button", { class: "cite", type: "button", "aria-label": `Source ${n}`, text: `[${n}]`,
      onclick: () => showPassage(turn, n) });
  }
  function showPassage(turn, n) {
    const item = turn.sourceItems.get(n);
    if (!item) return;
    const passage = item.querySelector(".passage");
    passage.hidden = false;
    item.querySelector("button").setAttribute("aria-expanded", "true");
    item.scrollIntoView({ block: "nearest" });
  }
  function showSources(turn, citations) {
    if (!citations || !citations.length) return;
    const list = el("ol", { class: "sources", "aria-label": "Sources" });
    for (const source of citations) {
      const where = source.headingPath && source.headingPath.length ? ` — ${source.headingPath.join(" › ")}` : "";
      const name = `[${source.n}] ${source.title}${where}`;
      const label = /^https?:\/\//.test(source.url || "") ? link(source.url, name) : el("span", { text: name });
      const passage = el("blockquote", { class: "passage", hidden: "", text: source.snippet || "" });
      const toggle = el("button", { type: "button", "aria-expanded": "false", text: "quote",
        onclick: () => { passage.hidden = !passage.hidden; toggle.setAttribute("aria-expanded", String(!passage.hidden)); } });
      const item = el("li", {}, label, " ", toggle, passage);
      turn.sourceItems.set(source.n, item);
      list.append(item);
    }
    turn.node.append(list);
  }

  // -- the conversation ----------------------------------------------------------------------------
  const state = { socket: null, open: false, retry: 0, turns: new Map(), sessionId: store.get(SESSION),
    greeted: false, until: 0, timer: null, queue: [] };
  const scroll = () => { log.scrollTop = log.scrollHeight; };
  function say(kind, text) {
    const node = el("div", { class: `msg ${kind}` });
    if (kind === "bot") node.append(...render(text, { sourceItems: new Map() }));
    else node.textContent = text;
    log.append(node);
    scroll();
    return node;
  }
  function newTurn(requestId) {
    const node = el("div", { class: "msg bot", "aria-busy": "true" });
    const body = el("div", { class: "body" });
    const steps = el("ul", { class: "steps" });
    node.append(steps, body);
    log.append(node);
    const turn = { node, body, steps, text: "", sourceItems: new Map() };
    state.turns.set(requestId, turn);
    scroll();
    return turn;
  }
  function setBusy(busy) {
    sendButton.disabled = busy || Date.now() < state.until;
  }
  function waitThenRetry(seconds) {
    state.until = Date.now() + seconds * 1000;
    setBusy(true);
    clearTimeout(state.timer);
    state.timer = setTimeout(() => setBusy(false), seconds * 1000 + 50);
  }
  function onFrame(frame) {
    const turn = state.turns.get(frame.requestId);
    switch (frame.type) {
      case "start":
        if (frame.sessionId) { state.sessionId = frame.sessionId; store.set(SESSION, frame.sessionId); }
        break;
      case "delta":
        if (!turn) break;
        turn.text += frame.text;
        turn.body.replaceChildren(...render(turn.text, turn));
        scroll();
        break;
      case "tool":
        if (turn && frame.status === "started") turn.steps.append(el("li", { text: frame.summary || frame.name }));
        break;
      case "end":
        if (!turn) break;
        turn.body.replaceChildren(...render(turn.text, turn));
        showSources(turn, frame.citations);
        turn.node.removeAttribute("aria-busy");
        state.turns.delete(frame.requestId);
        setBusy(false);
        scroll();
        break;
      case "history":
        if (frame.sessionId !== state.sessionId) break;
        for (const message of frame.messages) {
          if (message.role === "user") say("user", message.content);
          else { const t = newTurn(`h-${message.messageId}`); t.text = message.content;
            t.body.replaceChildren(...render(t.text, t)); showSources(t, message.citations);
            t.node.removeAttribute("aria-busy"); state.turns.delete(`h-${message.messageId}`); }
        }
        break;
      case "error":
        if (turn) { turn.node.remove(); state.turns.delete(frame.requestId); }
        if (frame.code === "session_not_found") { state.sessionId = null; store.drop(SESSION); }
        if (frame.code === "quota_exceeded") {
          say("note", frame.message);
          waitThenRetry(Math.min(Number(frame.retryAfter) || 60, 86400));
          return;
        }
        say("note", frame.code === "busy" ? "Still answering your last question: one moment."
          : "Sorry, something went wrong. Please try again.");
        setBusy(false);
        break;
    }
  }
  function connect() {
    if (state.socket && state.socket.readyState <= 1) return;
    const url = `${socketUrl}${socketUrl.includes("?") ? "&" : "?"}visitor=${encodeURIComponent(visitor)}`;
    const socket = new WebSocket(url);
    state.socket = socket;
    socket.onopen = () => {
      state.retry = 0;
      if (state.sessionId && !log.querySelector(".user")) {
        socket.send(JSON.stringify({ action: "getHistory", sessionId: state.sessionId, requestId: randomId() }));
      }
      for (const frame of state.queue.splice(0)) socket.send(JSON.stringify(frame));
    };
    socket.onmessage = (event) => { try { onFrame(JSON.parse(event.data)); } catch (e) { /* not a frame */ } };
    socket.onclose = () => {
      for (const [id, turn] of state.turns) { turn.node.removeAttribute("aria-busy"); state.turns.delete(id); }
      setBusy(false);
      if (state.open && state.retry < 6) setTimeout(connect, Math.min(10000, 500 * 2 ** state.retry++));
    };
  }
  function toggle(open) {
    state.open = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      if (!state.greeted) { say("bot", greeting); state.greeted = true; }
      connect();
      input.focus();
    } else launcher.focus();
  }
  launcher.addEventListener("click", () => toggle(!state.open));
  close.addEventListener("click", () => toggle(false));
  panel.addEventListener("keydown", (event) => { if (event.key === "Escape") toggle(false); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || sendButton.disabled) return;
    const requestId = randomId();
    const frame = { action: "sendMessage", message: text, requestId };
    if (state.sessionId) frame.sessionId = state.sessionId;
    if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify(frame));
    else { state.queue.push(frame); state.retry = 0; connect(); }  // sent as soon as the socket opens
    say("user", text);
    newTurn(requestId);
    input.value = "";
    setBusy(true);
  });
  const mount = () => document.body.append(host);
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
