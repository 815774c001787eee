// ragchat chat page: streams answers over the WebSocket protocol (docs/protocol.md).
"use strict";

const $ = (id) => document.getElementById(id);
const store = window.localStorage;
const state = { socket: null, retry: 0, pending: new Map(), sessionId: store.getItem("ragchat.sessionId") };

function defaultWsUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}
// Endpoints and token come only from the settings panel (saved in this origin's storage), never
// from the page's URL: a link must not be able to send the saved token to a server it names.
function settings() {
  return {
    wsUrl: store.getItem("ragchat.wsUrl") || defaultWsUrl(),
    apiUrl: (store.getItem("ragchat.apiUrl") || "").replace(/\/$/, ""),
    token: store.getItem("ragchat.token") || "",
  };
}
function setStatus(text, stateName) { const s = $("status"); s.textContent = text; s.dataset.state = stateName; }
function notice(text) { $("notice").textContent = text || ""; }
function newId() { return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^A-Za-z0-9-]/g, ""); }

// Markdown is rendered by marked and sanitised by DOMPurify: text from documents never runs as code,
// and model output (which a document can steer) never becomes a form, a control, a style, or an
// id or name that shadows the page's own elements (SANITIZE_NAMED_PROPS prefixes them).
const SANITIZE = {
  USE_PROFILES: { html: true },
  ADD_ATTR: ["data-n"],
  FORBID_TAGS: ["form", "input", "textarea", "button", "select", "option", "optgroup", "fieldset", "label",
    "datalist", "output", "dialog", "style", "link", "meta", "base", "iframe", "frame", "object", "embed"],
  FORBID_ATTR: ["style", "form", "formaction", "action", "autofocus", "tabindex", "accesskey"],
  SANITIZE_NAMED_PROPS: true,
};
function renderMarkdown(text) {
  const withCitations = text.replace(/(^|[^\w\]])\[(\d{1,3})\]/g, (m, pre, n) => `${pre}<a class="cite" data-n="${n}">[${n}]</a>`);
  return DOMPurify.sanitize(marked.parse(withCitations), SANITIZE);
}

function addMessage(role, text) {
  const node = document.createElement("div");
  node.className = `message ${role}`;
  const body = document.createElement("div");
  body.className = "body";
  node.appendChild(body);
  if (role === "user" || role === "error") body.textContent = text; else body.innerHTML = renderMarkdown(text);
  $("messages").appendChild(node);
  $("messages").scrollTop = $("messages").scrollHeight;
  return node;
}

function showSources(node, sources) {
  node.sources = new Map(sources.map((s) => [String(s.n), s]));
  let list = node.querySelector(".sources");
  if (!list) { list = document.createElement("ol"); list.className = "sources"; node.appendChild(list); }
  list.replaceChildren();
  for (const s of sources) {
    const item = document.createElement("li");
    item.value = s.n;
    const link = document.createElement("a");
    link.className = "source-link";
    link.dataset.n = s.n;
    link.textContent = s.title + (s.page ? `, p. ${s.page}` : "");
    item.appendChild(link);
    item.append(` — ${s.path}`);
    list.appendChild(item);
  }
}

async function openSource(source) {
  const api = settings().apiUrl;
  $("source-title").textContent = source.title;
  $("source-where").textContent = [source.path, (source.headingPath || []).join(" › "), source.page ? `page ${source.page}` : ""].filter(Boolean).join(" — ");
  $("source-text").replaceChildren();
  $("source-panel").hidden = false;
  try {
    const headers = settings().token ? { Authorization: `Bearer ${settings().token}` } : {};
    const response = await fetch(`${api}/api/documents/${encodeURIComponent(source.docId)}`, { headers });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = await response.json();
    for (const chunk of doc.chunks) {
      const block = document.createElement("div");
      block.className = "chunk" + (chunk.chunkId === source.chunkId ? " hit" : "");
      block.innerHTML = renderMarkdown(chunk.text);
      $("source-text").appendChild(block);
    }
    const hit = $("source-text").querySelector(".hit");
    if (hit) hit.scrollIntoView({ block: "center" });
  } catch (error) {
    const block = document.createElement("p");
    block.textContent = source.snippet;
    $("source-text").appendChild(block);
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a.cite, a.source-link");
  if (!link) return;
  event.preventDefault();
  const node = link.closest(".message");
  const source = node && node.sources && node.sources.get(link.dataset.n);
  if (source) openSource(source);
});
$("source-close").addEventListener("click", () => { $("source-panel").hidden = true; });

// One line per tool call above the answer ("Searching: …", then what it found). Text only:
// a summary may quote a document or the model, so it never goes through innerHTML.
function showToolStep(node, frame) {
  let list = node.querySelector(".steps");
  if (!list) { list = document.createElement("ul"); list.className = "steps"; node.insertBefore(list, node.firstChild); }
  let item = list.querySelector(`li[data-call-id="${CSS.escape(frame.callId)}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.callId = frame.callId;
    item.dataset.label = frame.status === "started" ? frame.summary : frame.name;
    list.appendChild(item);
  }
  item.dataset.status = frame.status;
  item.textContent = frame.status === "started" ? `${frame.summary}…` : `${item.dataset.label} — ${frame.summary}`;
}

function send(frame) {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) { notice("Not connected; retrying…"); return false; }
  state.socket.send(JSON.stringify(frame));
  return true;
}

function onFrame(frame) {
  const request = frame.requestId ? state.pending.get(frame.requestId) : null;
  switch (frame.type) {
    case "start":
      state.sessionId = frame.sessionId;
      store.setItem("ragchat.sessionId", frame.sessionId);
      break;
    case "delta":
      if (request) { request.text += frame.text; request.node.querySelector(".body").innerHTML = renderMarkdown(request.text); }
      break;
    case "tool":
      if (request) showToolStep(request.node, frame);
      break;
    case "sources":
      if (request) request.sources = frame.sources;
      break;
    case "end":
      if (request) { showSources(request.node, frame.citations); state.pending.delete(frame.requestId); }
      $("send").disabled = false;
      break;
    case "history":
      if (frame.sessionId !== state.sessionId) break;
      for (const m of frame.messages) {
        const node = addMessage(m.role, m.content);
        if (m.role === "assistant") showSources(node, m.citations);
      }
      break;
    case "error":
      if (frame.code === "session_not_found") { state.sessionId = null; store.removeItem("ragchat.sessionId"); }
      if (request) { request.node.remove(); state.pending.delete(frame.requestId); }
      addMessage("error", `${frame.message}`);
      $("send").disabled = false;
      if (frame.code === "quota_exceeded") {  // the message says why; the button waits as long as it says
        const wait = Math.min(Number(frame.retryAfter) || 60, 86400);
        $("send").disabled = true;
        notice(`You can send again in ${wait} s.`);
        setTimeout(() => { $("send").disabled = false; notice(""); }, wait * 1000);
      }
      break;
  }
}

function connect() {
  const { wsUrl, token } = settings();
  const url = token ? `${wsUrl}${wsUrl.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : wsUrl;
  setStatus("connecting…", "connecting");
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onopen = () => {
    state.retry = 0;
    setStatus("connected", "open");
    notice("");
    if (state.sessionId && !$("messages").children.length) send({ action: "getHistory", sessionId: state.sessionId, requestId: newId() });
  };
  socket.onmessage = (event) => { try { onFrame(JSON.parse(event.data)); } catch (e) { console.error(e); } };
  socket.onclose = () => {
    setStatus("disconnected", "closed");
    for (const [id, request] of state.pending) { request.node.querySelector(".body").append(" (connection lost)"); state.pending.delete(id); }
    $("send").disabled = false;
    const delay = Math.min(10000, 500 * 2 ** state.retry++);
    notice(`Connection lost; reconnecting in ${Math.round(delay / 1000)} s…`);
    setTimeout(connect, delay);
  };
}

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("question").value.trim();
  if (!text) return;
  const requestId = newId();
  const frame = { action: "sendMessage", message: text, requestId };
  if (state.sessionId) frame.sessionId = state.sessionId;
  if (!send(frame)) return;
  addMessage("user", text);
  state.pending.set(requestId, { node: addMessage("assistant", ""), text: "" });
  $("question").value = "";
  $("send").disabled = true;
});
$("question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("composer").requestSubmit(); }
});
$("new-chat").addEventListener("click", () => {
  state.sessionId = null;
  store.removeItem("ragchat.sessionId");
  $("messages").replaceChildren();
});

// How this deployment takes files: "direct" (the local server ingests a multipart post at once) or
// "presigned" (on AWS: the API signs a PUT to the bucket, and the bucket's events ingest the file).
async function uploadMethod(apiUrl, headers) {
  const response = await fetch(`${apiUrl}/api/config`, { headers });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()).uploads;
}

async function uploadDirect(file, apiUrl, headers) {
  const body = new FormData();
  body.append("file", file);
  const response = await fetch(`${apiUrl}/api/documents`, { method: "POST", body, headers });
  const result = await response.json();
  if (!response.ok) throw new Error(result.detail || result.message || `HTTP ${response.status}`);
  return result.status === "indexed" ? `${file.name}: indexed (${result.chunks} chunks)` : `${file.name}: skipped (${result.reason})`;
}

async function uploadPresigned(file, apiUrl, headers) {
  const response = await fetch(`${apiUrl}/api/uploads`, {
    method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify({ filename: file.name }),
  });
  const target = await response.json();
  if (!response.ok) throw new Error(target.detail || `HTTP ${response.status}`);
  const put = await fetch(target.url, { method: target.method, body: file });
  if (!put.ok) throw new Error(`the bucket answered HTTP ${put.status}`);
  return `${file.name}: uploaded; it is searchable once it has been ingested (usually within a minute or two)`;
}

$("upload").addEventListener("change", async () => {
  const file = $("upload").files[0];
  if (!file) return;
  notice(`Uploading ${file.name}…`);
  const { apiUrl, token } = settings();
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  try {
    const method = await uploadMethod(apiUrl, headers);
    notice(await (method === "presigned" ? uploadPresigned : uploadDirect)(file, apiUrl, headers));
  } catch (error) {
    notice(`${file.name}: upload failed (${error.message})`);
  }
  $("upload").value = "";
});

$("settings-toggle").addEventListener("click", () => {
  const panel = $("settings");
  panel.hidden = !panel.hidden;
  $("settings-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  const current = settings();
  $("ws-url").value = current.wsUrl; $("api-url").value = current.apiUrl; $("token").value = current.token;
});
$("settings-save").addEventListener("click", () => {
  store.setItem("ragchat.wsUrl", $("ws-url").value.trim() || defaultWsUrl());
  store.setItem("ragchat.apiUrl", $("api-url").value.trim());
  store.setItem("ragchat.token", $("token").value);
  if (state.socket) { state.socket.onclose = null; state.socket.close(); }
  connect();
});

connect();
