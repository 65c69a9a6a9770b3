"use strict";
// The web chat widget: WS /v1/chat (api/chat/session.py). Works embedded in an iframe or
// on its own, from phone to desktop widths; speaks the visitor's language (or the switch).
(() => {
  const { t } = window.I18N;
  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const form = $("form");
  const text = $("text");
  let socket = null;
  let resumable = null;  // {session, token} while the server keeps a dropped chat for us
  // The embedding site may vouch for its logged-in customer: /chat#identity=<JSON, URL-encoded>
  // with user_id or email, key_id, issued_at and signature (see SECURITY.md). The fragment
  // never reaches a server log.
  const signed = (() => {
    const value = new URLSearchParams(location.hash.slice(1)).get("identity");
    try { return value ? JSON.parse(value) : null; } catch (error) { return null; }
  })();

  function show(kind, body) {
    const line = document.createElement("div");
    line.className = "msg " + kind;
    line.textContent = body;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  // Rather than wait in the chat: a call back at the customer's number, at their turn.
  function offerCallback() {
    if ($("callback")) return;
    const button = document.createElement("button");
    button.id = "callback";
    button.type = "button";
    button.className = "secondary";
    button.textContent = t("callback_button");
    button.addEventListener("click", () => {
      const number = window.prompt(t("callback_prompt"));
      if (number && socket) socket.send(JSON.stringify({ type: "callback", number: number.trim() }));
    });
    log.appendChild(button);
  }
  function dropCallback() {
    const button = $("callback");
    if (button) button.remove();
  }
  function showWait(seconds) {
    if (typeof seconds !== "number") return;
    $("wait").textContent = seconds < 30 ? t("estimated_wait_short")
      : t("estimated_wait", { time: window.I18N.duration(seconds) });
  }

  function open(first, resume) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + "/v1/chat");
    socket.onopen = () => {
      if (resume) {
        socket.send(JSON.stringify({ type: "resume", session: resume.session, token: resume.token }));
        return;
      }
      const start = { type: "start", text: first, language: window.I18N.lang };
      const name = $("name").value.trim();
      const email = $("email").value.trim();
      if (name) start.name = name;
      if (email) start.email = email;
      if (signed) start.identity = signed;
      socket.send(JSON.stringify(start));
      $("who").remove();
    };
    socket.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "started") {
        if (data.resume_token) resumable = { session: data.session, token: data.resume_token };
        if (data.notice) show("note", data.notice);  // closed now: when we open
        show("note", t("waiting_agent"));
        showWait(data.estimated_wait);  // the router's estimate (router/estimate.py), once known
        offerCallback();
      } else if (data.type === "callback") {
        dropCallback();
        show("note", t("callback_confirmed", { number: data.callback.number }));
      } else if (data.type === "wait") {
        showWait(data.seconds);
      } else if (data.type === "agent_joined") {
        $("wait").textContent = "";
        dropCallback();
        show("note", t("joined", { name: data.agent }));
      } else if (data.type === "message") show("agent", data.text);
      else if (data.type === "transferred") show("note", t("transferring"));
      else if (data.type === "ended") { resumable = null; $("wait").textContent = ""; show("note", t("ended")); socket.close(); }
      else if (data.type === "error") {
        if (data.code === "bad_resume") resumable = null;
        show("note", data.message);
      }
    };
    socket.onclose = () => {
      socket = null;
      if (resumable) setTimeout(() => { if (socket === null && resumable) open(null, resumable); }, 1000);
    };
  }

  function start() {
    window.I18N.apply();
    window.I18N.bindSwitch($("lang"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = text.value.trim();
      if (!body) return;
      show("me", body);
      text.value = "";
      if (socket === null) open(body);
      else socket.send(JSON.stringify({ type: "message", text: body }));
    });
    window.addEventListener("beforeunload", () => {
      resumable = null;
      if (socket) socket.send(JSON.stringify({ type: "leave" }));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
