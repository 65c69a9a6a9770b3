"use strict";
// The supervisor wallboard: live snapshots over WS /v1/wallboard, signed in with the
// browser's session (supervisor or admin) or an ops token. Waiting contacts are shown by
// their place in line, never by id or name: a wallboard hangs where anyone can read it.
(() => {
  const { t } = window.I18N;
  const $ = (id) => document.getElementById(id);
  let last = null;
  let token = "";
  let csrf = "";

  function cells(values) {
    const row = document.createElement("tr");
    values.forEach((value, index) => {
      const cell = document.createElement(index === 0 ? "th" : "td");
      if (index === 0) cell.scope = "row";
      cell.textContent = value;
      row.append(cell);
    });
    return row;
  }
  function urgencyWord(u) { return t(u >= 0.6 ? "urgency_high" : u >= 0.3 ? "urgency_medium" : "urgency_low"); }

  function render(snapshot) {
    last = snapshot;
    const { duration, percent, time } = window.I18N;
    $("updated").textContent = t("updated", { time: time(snapshot.at) });
    const sla = $("sla"); sla.replaceChildren();
    for (const [channel, s] of Object.entries(snapshot.sla)) {
      const tile = document.createElement("div"); tile.className = "tile"; tile.dataset.channel = channel;
      const level = s.service_level;
      const value = document.createElement("div");
      value.className = "value " + (level === null ? "" : level >= s.target ? "ok" : level >= s.target - 0.1 ? "warn" : "bad");
      value.textContent = level === null ? "—" : percent(level);
      const label = document.createElement("div");
      label.textContent = `${t("channel_" + channel)} · ${t("sla_target", { target: Math.round(s.target * 100), time: duration(s.threshold) })} · ${t("answered_abandoned", s)}`;
      tile.append(value, label); sla.append(tile);
    }
    const queues = $("queues").tBodies[0]; queues.replaceChildren();
    for (const q of snapshot.queues) {
      const row = cells([q.queue, q.waiting_total, duration(q.oldest_wait_seconds), q.in_progress]);
      row.dataset.queue = q.queue; queues.append(row);
    }
    const agents = $("agents").tBodies[0]; agents.replaceChildren();
    for (const a of snapshot.agents) {
      const load = Object.entries(a.load).map(([c, n]) => `${c} ${n}/${a.capacity[c]}`).join(", ") || "—";
      const row = cells([a.name || a.agent_id, t(a.presence) + (a.reason ? ` (${a.reason})` : ""), load, a.offers.length]);
      row.dataset.agent = a.agent_id; agents.append(row);
    }
    const waiting = $("waiting").tBodies[0]; waiting.replaceChildren();
    snapshot.waiting.forEach((c, index) => {
      const row = cells([`#${index + 1}`, c.queue, t("channel_" + c.channel), c.language || "—", duration(c.waited_seconds),
        urgencyWord(c.urgency), c.priority.total.toFixed(1), t(c.state)]);
      if (c.urgency >= 0.6) row.className = "bad";
      waiting.append(row);
    });
  }

  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + "/v1/wallboard");
    socket.onopen = () => socket.send(JSON.stringify(token ? { type: "login", token } : { type: "login" }));
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "error") { $("login-error").textContent = data.message; $("login").hidden = false; $("app").hidden = true; return; }
      $("login").hidden = true; $("app").hidden = false; render(data);
    };
    socket.onclose = (event) => { if (event.code !== 4401) setTimeout(open, 2000); };
  }
  function tick() { $("clock").textContent = window.I18N.time(Date.now() / 1000); }

  async function start() {
    window.I18N.apply();
    window.I18N.bindSwitch($("lang"));
    window.I18N.onChange(() => { if (last) render(last); tick(); });
    tick(); setInterval(tick, 1000);
    $("token-form").addEventListener("submit", (event) => { event.preventDefault(); token = $("token").value.trim(); open(); });
    $("signout").addEventListener("click", async () => {
      await fetch("/v1/signout", { method: "POST", headers: { "x-csrf-token": csrf }, credentials: "same-origin" });
      location.assign("/signin?next=/wallboard");
    });
    const session = await fetch("/v1/session", { credentials: "same-origin" });
    if (session.ok) {
      const me = await session.json();
      csrf = me.csrf; $("signout").hidden = false;
      if (me.role === "supervisor" || me.role === "admin") { open(); return; }
    }
    $("login").hidden = false;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
