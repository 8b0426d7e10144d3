// The chat page: sessions sidebar, streamed answers with reasoning and server tool activity.
import { renderMarkdown } from "./markdown.js";

const $ = (id) => document.getElementById(id);
const state = { key: localStorage.getItem("oss-agent-key") || "", session: null, busy: null };

function headers(extra = {}) {
  const all = { "Content-Type": "application/json", ...extra };
  if (state.key) all.Authorization = `Bearer ${state.key}`;
  return all;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (response.status === 401) {
    $("key-box").hidden = false;
    throw new Error("This service needs an API key: enter it in the sidebar.");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error?.message || `HTTP ${response.status}`);
  }
  return response;
}

const showStatus = (text) => { $("status").textContent = text || ""; };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// One assistant answer on the page: reasoning, tool lines and Markdown content.
function assistantView() {
  const box = element("div", "message assistant");
  const reasoning = element("details", "reasoning");
  reasoning.append(element("summary", null, "Reasoning"), element("div", "text"));
  reasoning.hidden = true;
  const tools = element("div", "tools");
  const answer = element("div", "answer");
  box.append(reasoning, tools, answer);
  $("messages").append(box);
  let content = "";
  const toolLines = new Map();
  return {
    reasoning(text) {
      reasoning.hidden = false;
      reasoning.querySelector(".text").textContent += text;
    },
    content(text) {
      content += text;
      answer.innerHTML = renderMarkdown(content);
    },
    toolStarted(id, name, args) {
      const line = element("div", "tool");
      line.append(element("div", "call", `⚙ ${name}(${args})`), element("div", "result", "running…"));
      toolLines.set(id, line);
      tools.append(line);
    },
    toolFinished(id, result, error, durationMs) {
      const line = toolLines.get(id);
      if (!line) return;
      if (error) line.classList.add("error");
      const timing = durationMs === undefined ? "" : ` (${durationMs} ms)`;
      line.querySelector(".result").textContent = `${error ? "✗ " + error : "→ " + result}${timing}`;
    },
  };
}

function userView(text) {
  $("messages").append(element("div", "message user", text));
}

function renderHistory(messages) {
  $("messages").replaceChildren();
  let view = null;
  for (const message of messages) {
    if (message.role === "user") {
      userView(typeof message.content === "string" ? message.content : JSON.stringify(message.content));
      view = null;
    } else if (message.role === "assistant") {
      view = view || assistantView();
      const thought = message.reasoning_content || message.reasoning;
      if (thought) view.reasoning(thought);
      for (const call of message.tool_calls || []) view.toolStarted(call.id, call.function.name, call.function.arguments);
      if (message.content) view.content(message.content);
    } else if (message.role === "tool" && view) {
      view.toolFinished(message.tool_call_id, message.content, null);
    }
  }
}

// `oss-agent serve --demo`: /ready carries the demo notice, shown above the chat.
async function showDemoBanner() {
  const ready = await fetch("/ready", { headers: headers() }).then((r) => r.json()).catch(() => ({}));
  $("demo-banner").textContent = ready.demo || "";
  $("demo-banner").hidden = !ready.demo;
}

async function loadModels() {
  const models = await (await api("/v1/models")).json();
  $("model").replaceChildren(...models.data.map((m) => element("option", null, m.id)));
}

// Without API keys the service lists no sessions (every caller would see everybody's):
// the page then lists the sessions this browser started, remembered in localStorage.
const OWN_SESSIONS = "oss-agent-sessions";

function ownSessionIds() {
  return JSON.parse(localStorage.getItem(OWN_SESSIONS) || "[]");
}

function rememberSession(id) {
  const ids = ownSessionIds().filter((known) => known !== id);
  localStorage.setItem(OWN_SESSIONS, JSON.stringify([...ids, id]));
}

async function listedSessions() {
  const newest = "/v1/sessions?order=desc&limit=100";
  const response = await fetch(newest, { headers: headers() });
  if (response.status !== 403) return (await api(newest)).json();
  const found = [];
  for (const id of ownSessionIds()) {
    const session = await fetch(`/v1/sessions/${id}`, { headers: headers() });
    if (session.ok) found.push(await session.json());
  }
  localStorage.setItem(OWN_SESSIONS, JSON.stringify(found.map((s) => s.id)));
  return { data: found.reverse() };
}

async function loadSessions() {
  const list = await listedSessions();
  $("sessions").replaceChildren(...list.data.map(sessionItem));  // newest first
}

function sessionItem(session) {
  const item = element("li");
  item.dataset.id = session.id;
  item.classList.toggle("active", session.id === state.session);
  const rename = element("button", "rename", "✎");
  rename.title = "Rename";
  const remove = element("button", "delete", "✕");
  remove.title = "Delete";
  item.append(element("span", "title", session.title || "(empty)"), rename, remove);
  item.addEventListener("click", () => run(() => openSession(session.id)));
  rename.addEventListener("click", (event) => { event.stopPropagation(); run(() => renameSession(session)); });
  remove.addEventListener("click", (event) => { event.stopPropagation(); run(() => deleteSession(session.id)); });
  return item;
}

async function openSession(id) {
  const history = await (await api(`/v1/sessions/${id}`)).json();
  state.session = id;
  renderHistory(history.messages.filter((m) => m.role !== "system"));
  await loadSessions();
}

async function renameSession(session) {
  const title = prompt("New title", session.title || "");
  if (!title) return;
  await api(`/v1/sessions/${session.id}`, { method: "PATCH", body: JSON.stringify({ title }) });
  await loadSessions();
}

async function deleteSession(id) {
  await api(`/v1/sessions/${id}`, { method: "DELETE" });
  if (id === state.session) newChat();
  await loadSessions();
}

function newChat() {
  state.session = null;
  $("messages").replaceChildren();
  for (const item of $("sessions").children) item.classList.remove("active");
}

function applyEvent(view, chunk) {
  if (chunk.error) throw new Error(chunk.error.message);
  const delta = chunk.choices?.[0]?.delta || {};
  const activity = delta.tool_activity;
  if (activity?.type === "started") view.toolStarted(activity.id, activity.name, activity.arguments);
  if (activity?.type === "finished") view.toolFinished(activity.id, activity.result, activity.error, activity.duration_ms);
  if (delta.reasoning_content) view.reasoning(delta.reasoning_content);
  if (delta.content) view.content(delta.content);
}

async function readStream(response, view, turn) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop();
    for (const line of lines) {
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      applyEvent(view, JSON.parse(line.slice(6)));
      if (!turn.started) {
        turn.started = true;  // the service keeps it now: a Stop can reach it
        if (turn.stopping) await stop();
      }
    }
  }
}

// The turn this page is running, kept across a reload: {session, text}. Turns are sent with
// X-On-Disconnect: finish, so leaving the page does not stop them; after a reload the page
// watches the turn again (GET /v1/sessions/{id}/live) and Stop cancels it explicitly.
const RUNNING = "oss-agent-running";

async function send(text) {
  userView(text);
  const extra = { "X-On-Disconnect": "finish", ...(state.session ? { "X-Session-ID": state.session } : {}) };
  const body = { model: $("model").value || undefined, stream: true, tool_activity: true, messages: [{ role: "user", content: text }] };
  await follow(async (signal, turn) => {
    const response = await api("/v1/chat/completions", { method: "POST", body: JSON.stringify(body), headers: extra, signal });
    state.session = response.headers.get("x-session-id") || state.session;
    turn.session = state.session;
    rememberSession(state.session);
    localStorage.setItem(RUNNING, JSON.stringify({ session: state.session, text }));
    return response;
  });
}

async function resumeRunning() {
  const running = JSON.parse(localStorage.getItem(RUNNING) || "null");
  if (!running) return;
  await openSession(running.session).catch(() => localStorage.removeItem(RUNNING));
  if (!localStorage.getItem(RUNNING)) return;
  userView(running.text);
  await follow(async (signal, turn) => {
    turn.session = running.session;
    return api(`/v1/sessions/${running.session}/live`, { signal });
  });
  await openSession(running.session);  // the turn as it was stored
}

// Run one turn's stream into a new answer view; Stop cancels the turn on the service.
async function follow(open) {
  const view = assistantView();
  const controller = new AbortController();
  const turn = { controller, session: null, started: false, stopping: false };
  state.busy = turn;
  setBusy(true);
  try {
    const response = await open(controller.signal, turn);
    if (response.status === 200) await readStream(response, view, turn);
    localStorage.removeItem(RUNNING);
  } catch (error) {
    if (error.name !== "AbortError") {
      localStorage.removeItem(RUNNING);
      throw error;
    }
    showStatus("Stopped: this turn was cancelled and is not kept.");
  } finally {
    state.busy = null;
    setBusy(false);
    await loadSessions().catch(() => {});
  }
}

async function stop() {
  const turn = state.busy;
  if (!turn) return;
  if (!turn.started) {  // not begun on the service yet: stopped as soon as it has
    turn.stopping = true;
    showStatus("Stopping as soon as the turn has begun…");
    return;
  }
  localStorage.removeItem(RUNNING);
  await api(`/v1/sessions/${turn.session}/live/cancel`, { method: "POST" }).catch(() => {});
  turn.controller.abort();
}

function setBusy(busy) {
  $("send").hidden = busy;
  $("stop").hidden = !busy;
}

async function run(action) {
  showStatus("");
  try {
    await action();
  } catch (error) {
    showStatus(error.message);
  }
}

async function start() {
  $("key").value = state.key;
  $("key").addEventListener("change", () => {
    state.key = $("key").value.trim();
    localStorage.setItem("oss-agent-key", state.key);
    run(() => Promise.all([loadModels(), loadSessions()]));
  });
  $("new-chat").addEventListener("click", newChat);
  $("stop").addEventListener("click", () => run(stop));
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("input").value.trim();
    if (!text || state.busy) return;
    $("input").value = "";
    run(() => send(text));
  });
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  showDemoBanner();
  await run(async () => {
    await Promise.all([loadModels(), loadSessions()]);
    await resumeRunning();
  });
}

start();
