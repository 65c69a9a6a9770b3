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
  let reportTimer = null;

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

  function alertText(a) {
    const { duration, percent } = window.I18N;
    switch (a.kind) {
      case "unstaffed_queue":
        return t("alert_unstaffed_queue", { queue: a.queue, waiting: a.waiting, channels: a.channels.map((c) => t("channel_" + c)).join(", ") });
      case "sla_breach":
        return t("alert_sla_breach", { queue: a.queue, channel: t("channel_" + a.channel), count: a.waiting_past,
                                       threshold: duration(a.threshold), oldest: duration(a.oldest_wait_seconds) });
      case "service_level":
        return t("alert_service_level", { channel: t("channel_" + a.channel), level: percent(a.service_level), target: percent(a.target) });
      case "state_limit":
        return t("alert_state_limit", { agent: a.agent_id, code: a.code, time: duration(a.seconds_in_state), limit: duration(a.limit) });
      default: return a.kind;
    }
  }
  // a button that picks a contact (and its agent) into the action bar; its key brings focus back after a redraw
  function picker(key, text, label, contactId, agentId) {
    const button = document.createElement("button");
    button.type = "button"; button.className = key.startsWith("chip:") ? "chip" : "pick";
    button.dataset.pick = key; button.dataset.contact = contactId; button.textContent = text;
    button.setAttribute("aria-label", t("pick_contact", { what: label }));
    button.addEventListener("click", (event) => { event.stopPropagation(); pick(contactId, agentId); });
    return button;
  }
  function pick(contactId, agentId) {
    $("act-contact").value = contactId;
    if (agentId) $("act-agent").value = agentId;
  }
  function options(select, values) {  // rebuilt only when they change, keeping the choice
    const key = JSON.stringify(values);
    if (select.dataset.key === key) return;
    const chosen = select.value;
    select.replaceChildren(...values.map(([value, text]) => {
      const option = document.createElement("option"); option.value = value; option.textContent = text; return option;
    }));
    select.dataset.key = key;
    if (values.some(([value]) => value === chosen)) select.value = chosen;
  }

  function render(snapshot) {
    last = snapshot;
    const { duration, percent, time } = window.I18N;
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.pick : undefined;
    $("updated").textContent = t("updated", { time: time(snapshot.at) });
    const list = $("alerts"); list.replaceChildren();
    for (const a of snapshot.alerts || []) {
      const item = document.createElement("li"); item.className = "bad"; item.dataset.alert = a.kind;
      item.textContent = alertText(a); list.append(item);
    }
    if (!list.children.length) {
      const item = document.createElement("li"); item.className = "ok"; item.textContent = t("no_alerts"); list.append(item);
    }
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
      const why = [a.code, a.reason].filter(Boolean).join(": ");
      const since = a.presence === "offline" || a.seconds_in_state === undefined ? "" : " · " + t("in_state_for", { time: duration(a.seconds_in_state) });
      const row = cells([a.name || a.agent_id, t(a.presence) + (why ? ` (${why})` : "") + since, load, a.offers.length]);
      if (a.over_limit) row.classList.add("bad", "over-limit");
      row.dataset.agent = a.agent_id;
      (a.contacts || []).forEach((contactId, index) => {  // the contacts the agent holds (by number, no ids on the wall): pick one
        const n = index + 1;
        row.children[2].append(" ", picker("chip:" + contactId, t("held_n", { n }), t("held_of", { n, agent: a.name || a.agent_id }), contactId, a.agent_id));
      });
      agents.append(row);
    }
    const waiting = $("waiting").tBodies[0]; waiting.replaceChildren();
    snapshot.waiting.forEach((c, index) => {
      const row = cells(["", c.queue, t("channel_" + c.channel), c.language || "—", duration(c.waited_seconds),
        urgencyWord(c.urgency), c.priority.total.toFixed(1), t(c.state)]);
      row.children[0].append(picker("waiting:" + c.contact_id, `#${index + 1}`, `#${index + 1}`, c.contact_id));
      if (c.urgency >= 0.6) row.className = "bad";
      row.dataset.contact = c.contact_id;
      row.addEventListener("click", () => pick(c.contact_id));
      waiting.append(row);
    });
    options($("act-agent"), snapshot.agents.map((a) => [a.agent_id, `${a.name || a.agent_id} (${t(a.presence)})`]));
    const codes = new Set(snapshot.agents.map((a) => a.code).filter(Boolean));
    for (const code of snapshot.reasons || []) codes.add(code);
    options($("act-state"), [["available", t("available")], ...[...codes].map((c) => [`away:${c}`, t("away_reason", { label: c })]),
      ["away", t("away")], ["offline", t("offline")]]);
    if (focused) {
      const again = document.querySelector(`[data-pick="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  // ----------------------------------------------------- calls as the signed-in supervisor
  function call(path, init = {}) {
    const headers = { ...(init.headers || {}) };
    if (token) headers.authorization = "Bearer " + token;
    else if (csrf) headers["x-csrf-token"] = csrf;
    return fetch(path, { ...init, headers, credentials: "same-origin" });
  }

  // ------------------------------------------------------------------ supervisor actions
  const ACTION_LABEL = { reassign: "act_reassign", pull: "act_pull", priority: "act_priority_do", message: "act_message", presence: "act_presence" };
  async function act(action) {
    const result = $("act-result");
    result.className = ""; result.textContent = ""; result.dataset.action = action;
    const contact = $("act-contact").value.trim(), agent = $("act-agent").value;
    const reason = $("act-reason").value.trim();
    const [presence, code] = $("act-state").value.split(":");
    const calls = {
      reassign: [`/v1/contacts/${encodeURIComponent(contact)}/reassign`, { agent, reason }],
      pull: [`/v1/contacts/${encodeURIComponent(contact)}/pull`, { reason }],
      priority: [`/v1/contacts/${encodeURIComponent(contact)}/priority`, { priority: Number($("act-priority").value), reason }],
      message: [`/v1/agents/${encodeURIComponent(agent)}/message`, { text: reason }],
      presence: [`/v1/agents/${encodeURIComponent(agent)}/presence`, code ? { presence, code, reason } : { presence, reason }],
    };
    const [path, body] = calls[action];
    const label = t(ACTION_LABEL[action]);
    let reply;
    try {
      reply = await call(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
    } catch (error) {
      result.className = "bad"; result.textContent = t("act_failed", { action: label, status: "", detail: String(error) }); return;
    }
    const data = await reply.json().catch(() => ({}));
    let detail = data.detail || "";
    if (Array.isArray(detail)) detail = detail.map((d) => `${d.loc.slice(-1)[0]}: ${d.msg}`).join("; ");
    result.className = reply.ok ? "ok" : "bad";
    result.textContent = reply.ok ? t("act_ok", { action: label }) : t("act_failed", { action: label, status: reply.status, detail });
  }

  // ---------------------------------------------------------------------- today's report
  const SVG = "http://www.w3.org/2000/svg";
  const W = 1200, H = 220, PAD = 30;
  let report = null;
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function minuteOf(label) {  // "2026-12-02T09:15:00+01:00": the local wall clock of the interval
    const [h, m] = String(label).split("T")[1].slice(0, 5).split(":").map(Number);
    return h * 60 + m;
  }
  function drawChart(intervals) {
    const chart = $("sl-chart");
    chart.querySelectorAll(":scope > :not(title)").forEach((node) => node.remove());
    const x = (minute) => PAD + (W - PAD - 8) * minute / 1440;
    const y = (level) => H - PAD + 10 - (H - PAD) * level;
    const { percent } = window.I18N;
    for (const level of [0, 0.5, 0.8, 1]) {
      chart.append(svg("line", { class: "grid", x1: PAD, x2: W - 8, y1: y(level), y2: y(level) }));
      chart.append(svg("text", { x: 2, y: y(level) + 4 }, percent(level)));
    }
    for (let hour = 0; hour <= 24; hour += 3) {
      const anchor = hour === 0 ? "start" : hour === 24 ? "end" : "middle";
      chart.append(svg("text", { x: x(hour * 60), y: H - 2, "text-anchor": anchor }, `${String(hour).padStart(2, "0")}:00`));
    }
    const step = (intervals.interval_minutes || 15) / 2;
    const series = {};
    for (const row of intervals.rows) {
      if (row.service_level === null || row.service_level === undefined) continue;
      (series[row.channel] = series[row.channel] || []).push([minuteOf(row.period) + step, row.service_level]);
    }
    const targets = last ? Object.fromEntries(Object.entries(last.sla).map(([c, v]) => [c, v.target])) : {};
    const legend = $("sl-legend"); legend.replaceChildren();
    for (const [channel, points] of Object.entries(series)) {
      if (targets[channel] !== undefined) {
        chart.append(svg("line", { class: "target " + channel, x1: PAD, x2: W - 8, y1: y(targets[channel]), y2: y(targets[channel]), "data-target": channel }));
      }
      chart.append(svg("polyline", { class: "series " + channel, "data-channel": channel,
        points: points.map(([m, l]) => `${x(m).toFixed(1)},${y(l).toFixed(1)}`).join(" ") }));
      for (const [m, l] of points) chart.append(svg("circle", { class: channel, cx: x(m), cy: y(l), r: 3, "data-channel": channel, "data-level": l }));
      const key = document.createElement("span"); key.className = channel; key.dataset.channel = channel;
      key.textContent = `${t("channel_" + channel)} ${percent(points[points.length - 1][1])}`; legend.append(key);
    }
  }
  function drawReport() {
    if (!report) return;
    const { duration, percent } = window.I18N;
    $("report-day").textContent = `${report.intervals.from} (${report.intervals.timezone})`;
    drawChart(report.intervals);
    const body = $("report-queues").tBodies[0]; body.replaceChildren();
    for (const r of report.day.rows) {
      const row = cells([r.queue, r.offered, r.answered, r.service_level === null ? "—" : percent(r.service_level),
        r.asa === null ? "—" : duration(r.asa),
        `${r.abandoned}${r.short_abandoned ? ` (${t("short_abandoned", { n: r.short_abandoned })})` : ""}`,
        r.aht === null ? "—" : duration(r.aht), r.csat === null || r.csat === undefined ? "—" : r.csat.toFixed(2)]);
      row.dataset.queue = r.queue; body.append(row);
    }
  }
  async function fetchReport(query) {
    const reply = await call(`/v1/reports?${query}`);
    if (!reply.ok) throw new Error(`${reply.status} ${await reply.text()}`);
    return reply;
  }
  async function loadReport() {
    try {
      const intervals = await (await fetchReport("period=interval&by=channel")).json();
      const day = await (await fetchReport("by=queue")).json();
      report = { intervals, day };
      drawReport();
    } catch (error) {
      $("report-day").textContent = t("report_error", { error: String(error.message || error) });
    }
  }
  async function downloadCsv() {
    try {
      const reply = await fetchReport("by=queue,channel&format=csv");
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await reply.blob());
      link.download = "centralino-report.csv";
      document.body.append(link); link.click(); link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
      $("report-day").textContent = t("report_error", { error: String(error.message || error) });
    }
  }

  function open() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + "/v1/wallboard");
    socket.onopen = () => socket.send(JSON.stringify(token ? { type: "login", token } : { type: "login" }));
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "error") { $("login-error").textContent = data.message; $("login").hidden = false; $("app").hidden = true; return; }
      const first = $("app").hidden;
      $("login").hidden = true; $("app").hidden = false; render(data);
      if (first && !reportTimer) { loadReport(); reportTimer = setInterval(loadReport, 60000); }
    };
    socket.onclose = (event) => { if (event.code !== 4401) setTimeout(open, 2000); };
  }
  function tick() { $("clock").textContent = window.I18N.time(Date.now() / 1000); }

  async function start() {
    window.I18N.apply();
    window.I18N.bindSwitch($("lang"));
    window.I18N.onChange(() => { if (last) render(last); drawReport(); tick(); });
    for (const button of document.querySelectorAll("#action-form button[data-action]")) {
      button.addEventListener("click", () => act(button.dataset.action));
    }
    $("action-form").addEventListener("submit", (event) => event.preventDefault());
    $("report-csv").addEventListener("click", downloadCsv);
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
