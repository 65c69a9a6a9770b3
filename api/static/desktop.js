"use strict";
// The agent desktop: signs in with the browser's session (or a desktop token), then speaks
// the desktop websocket protocol (docs/desktop-protocol.md). Cards are built once and
// updated in place, so keyboard focus stays where the agent left it.
(() => {
  const { t } = window.I18N;
  const $ = (id) => document.getElementById(id);
  const state = { offers: new Map(), contacts: new Map(), accepted: new Map(), refs: 0, lastSeq: 0,
                  stream: null, token: "", csrf: "", reasons: {}, presence: null, early: new Map(), setup: { queues: [], agents: [], outcomes: [] }, agentId: "" };
  let socket = null;
  let seq = 0;  // for unique element ids

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined && child !== "") node.append(child);
    return node;
  }
  const uid = (name) => `${name}-${++seq}`;
  function send(message) {
    state.refs += 1;
    socket.send(JSON.stringify({ ...message, ref: String(state.refs) }));
    return String(state.refs);
  }
  const now = () => Date.now() / 1000;

  // ---------------------------------------------------------------- what the agent reads
  function customerName(contact) {
    const c = contact.customer || {};
    const profile = c.verified === false ? {} : (contact.profile || {});  // the customer on file
    return profile.name || c.name || c.email || c.phone || t("customer");
  }
  function mood(emotion, urgency) {
    if (!emotion || !emotion.label) return { word: t("mood_unknown"), upset: false };
    const level = Number(emotion.urgency ?? urgency ?? 0);
    if (emotion.label === "negative") return { word: t(level >= 0.8 ? "mood_very_upset" : "mood_upset"), upset: true };
    return { word: t(emotion.label === "positive" ? "mood_pleased" : "mood_calm"), upset: false };
  }
  function reasonText(text) {
    // the triage's signals (skills/cues.py, skills/emotion.py), put in the agent's language
    const words = text.match(/^n-grams toward \w+: (.*)$/);
    if (words) return t("reason_words", { words: words[1] });
    const waiting = text.match(/^(\d+) messages while waiting$/);
    if (waiting) return t("messages_waiting", { n: waiting[1] });
    const cue = text.match(/^(negated )?([a-z ?/!]+): (.*?)( \(intensified\))?$/);
    if (!cue) return text;
    const name = t("cue_" + cue[2]);
    const known = name !== "cue_" + cue[2];
    const what = (known ? name : cue[2]) + ": " + cue[3] + (cue[4] ? " (" + t("intensified") + ")" : "");
    return cue[1] ? t("negated", { what }) : what.charAt(0).toUpperCase() + what.slice(1);
  }
  function reasons(emotion) {
    const out = [];
    for (const signal of (emotion && emotion.signals) || []) {
      const text = String(signal);
      if (text.startsWith("model (") || text.startsWith("floor for")) continue;  // figures, not reasons
      out.push(reasonText(text));
    }
    if (emotion && emotion.source === "provider") out.push(t("reason_provider"));
    return out.slice(0, 4);
  }
  function sentimentBlock(contact) {
    const m = mood(contact.emotion, contact.urgency);
    const why = reasons(contact.emotion);
    return el("div", { class: "sentiment" },
      el("strong", { class: m.upset ? "upset" : "" }, m.word),
      why.length ? el("ul", { class: "reasons", "aria-label": t("reasons") }, ...why.map((r) => el("li", {}, r))) : "");
  }
  function whoBlock(contact, held = false) {
    const customer = contact.customer || {};
    const claimed = customer.email || customer.phone || customer.name || "?";
    const who = customer.verified === false
      ? el("span", { class: "customer unverified" }, t("claims", { who: claimed }))
      : el("strong", { class: "customer" }, customerName(contact));
    const identities = customer.verified === false ? [] : ((contact.profile || {}).identities || []);
    const openCase = contact.open_case;
    const proposed = (contact.proposed_identities || []).map((p) =>
      el("div", { class: "meta proposed" }, t("found_in_text", { found: p.found, value: p.value }) + " ",
        held && !p.added ? el("button", { class: "secondary add-identity", type: "button",
          "aria-label": t("add_identity_for", { value: p.value }), onclick: () => confirmIdentity(contact, p) }, t("add")) : ""));
    return el("div", { class: "who" },
      el("div", { class: "row" }, el("h3", {}, who),
        el("span", { class: "pill" }, `${t("channel_" + contact.channel) || contact.channel} · ${contact.queue || ""}`),
        contact.language ? el("span", { class: "pill", lang: contact.language }, contact.language) : "",
        contact.moment_of_truth ? el("span", { class: "pill" }, t("moment_of_truth")) : ""),
      identities.length ? el("div", { class: "meta identities" }, identities.join(" · ")) : "",
      openCase ? el("div", { class: "meta open-case" }, t("open_case", { queue: openCase.queue, agent: openCase.agent_id || "—" })) : "",
      ...proposed);
  }
  async function confirmIdentity(contact, proposal) {
    // the agent checked it: a phone number found in the text goes on file for this customer
    const headers = { "content-type": "application/json" };
    if (state.token) headers.authorization = "Bearer " + state.token;
    if (state.csrf) headers["x-csrf-token"] = state.csrf;
    const reply = await fetch(`/v1/contacts/${encodeURIComponent(contact.contact_id)}/customer/identities`, {
      method: "POST", headers, credentials: "same-origin", body: JSON.stringify({ identity: proposal.identity }),
    });
    if (reply.ok) {
      proposal.added = true;
      const profile = contact.profile || {};
      contact.profile = { ...profile, identities: [...(profile.identities || []), proposal.identity] };
      const item = state.contacts.get(contact.contact_id);
      if (item) redrawContact(item);
    } else {
      $("status").textContent = (await reply.json().catch(() => ({}))).detail || String(reply.status);
    }
  }
  function historyBlock(contact) {
    const items = (contact.history || []).map((h) => {
      const when = h.arrival || h.at ? window.I18N.dateTime(h.arrival || h.at) + " · " : "";
      const resolved = h.resolved === false ? t("unresolved") : h.resolved === true ? t("resolved") : "";
      const parts = [h.channel, h.subject ? `«${h.subject}»` : "", h.queue, h.agent_name || h.agent_id || "—",
        h.outcome_label || h.outcome || h.state, resolved, h.csat ? `CSAT ${h.csat}/5` : ""];
      return el("li", {}, when + parts.filter(Boolean).join(" · "));
    });
    if (!items.length) return "";
    const id = uid("history");
    return el("div", {}, el("h4", { id, class: "meta" }, t("history")), el("ul", { class: "history", "aria-labelledby": id }, ...items));
  }
  function noteBlock(contact) {
    const note = contact.transfer_note;
    if (!note || !note.note) return "";
    return el("p", { class: "note" }, el("strong", {}, t("note_from", { name: note.name || note.from }) + ": "), note.note);
  }

  // ---------------------------------------------------------------------------- offers
  function offerCard(offer) {
    const contact = offer.contact;
    const name = customerName(contact);
    const countdown = el("span", { class: "timer countdown", role: "timer" });
    const waited = el("span", { class: "timer waited" });
    const card = el("article", { class: "card offer" + ((contact.urgency || 0) >= 0.6 ? " urgent" : ""), "data-offer": offer.offer_id },
      whoBlock(contact),
      el("div", { class: "row meta" }, countdown, waited),
      el("div", { class: "body" }, sentimentBlock(contact)),
      noteBlock(contact),
      contact.subject ? el("p", {}, el("strong", {}, contact.subject)) : "",
      el("p", { class: "text" }, contact.text || ""),
      historyBlock(contact),
      el("div", { class: "row" },
        el("button", { class: "accept", type: "button", "aria-label": t("accept_from", { name }),
                       onclick: () => send({ type: "accept", offer_id: offer.offer_id }) }, t("accept")),
        el("button", { class: "secondary reject", type: "button", "aria-label": t("reject_from", { name }),
                       onclick: () => send({ type: "reject", offer_id: offer.offer_id, reason: "rejected" }) }, t("reject"))));
    card.tick = () => {
      const left = (offer.expires_at || 0) - now();
      countdown.textContent = t("answer_within", { time: window.I18N.duration(left) });
      countdown.classList.toggle("low", left < 10);
      waited.textContent = contact.arrival ? t("waiting_for", { time: window.I18N.duration(now() - contact.arrival) }) : "";
    };
    card.tick();
    return card;
  }
  function syncOffers() {
    const box = $("offers");
    for (const card of [...box.children]) if (!state.offers.has(card.dataset.offer)) card.remove();
    for (const offer of state.offers.values()) {
      if (!box.querySelector(`[data-offer="${CSS.escape(offer.offer_id)}"]`)) box.append(offerCard(offer));
    }
    $("no-offers").hidden = state.offers.size > 0;
  }
  function redrawOffer(offer) {
    const old = $("offers").querySelector(`[data-offer="${CSS.escape(offer.offer_id)}"]`);
    if (!old) return;
    const focused = document.activeElement && old.contains(document.activeElement) ? document.activeElement.className : null;
    const fresh = offerCard(offer);
    old.replaceWith(fresh);
    if (focused) { const again = fresh.getElementsByClassName(focused)[0]; if (again) again.focus(); }
  }

  // -------------------------------------------------------------------------- contacts
  const FROM = { message: "customer", transcript: "customer", agent: "agent", transfer_note: "note" };
  function conversationLine(m) {
    const who = m.from === "me" ? t("you") : m.from === "customer" ? customerName(m.contact || {})
      : m.from === "agent" ? t("agent") : m.from === "note" ? t("transfer_note_line") : m.from;
    if (m.status) {  // a reply through the outbox: pending, sending, sent, failed (why), unknown
      return el("div", { class: "line reply", "data-status": m.status }, el("span", { class: "from" }, who + ": "), m.text, " ",
        el("span", { class: "pill reply-status" }, (t("reply_" + m.status) || m.status) + (m.reason ? " — " + m.reason : "")));
    }
    return el("div", { class: "line" + (m.from === "note" ? " note" : "") }, el("span", { class: "from" }, who + ": "), m.text);
  }
  // replies on email, social and SMS: the snapshot's latest replies, with their status
  const FINAL = ["sent", "failed", "unknown"];
  function withReplies(item) {
    item.messages = item.messages || [];
    for (const r of item.replies || []) {
      if (item.messages.some((x) => x.reply_id === r.reply_id)) continue;
      const m = item.messages.find((x) => !x.reply_id && (x.from === "agent" || x.from === "me") && x.text === r.text);
      const line = { from: "me", text: r.text, reply_id: r.reply_id, status: r.status, reason: r.reason };
      if (m) Object.assign(m, line); else item.messages.push(line);
    }
  }
  function redrawLog(item) {
    if (!item.log) return;
    item.log.replaceChildren();
    if (item.contact.text) item.log.append(conversationLine({ from: "customer", text: item.contact.text, contact: item.contact }));
    for (const m of item.messages || []) item.log.append(conversationLine({ ...m, contact: item.contact }));
    item.log.scrollTop = item.log.scrollHeight;
  }
  function findReply(test) {
    for (const item of state.contacts.values()) for (const m of item.messages || []) if (test(m)) return [item, m];
    return [null, null];
  }
  async function loadConversation(item) {
    const headers = state.token ? { authorization: "Bearer " + state.token } : {};
    const reply = await fetch(`/v1/desktop/contacts/${encodeURIComponent(item.contact.contact_id)}/conversation`,
                              { headers, credentials: "same-origin" });
    if (!reply.ok) return;
    const pending = (item.messages || []).filter((m) => m.status && !m.reply_id);  // sent meanwhile
    item.messages = (await reply.json()).map((m) => ({ from: FROM[m.kind] || m.kind, text: m.text, at: m.at }));
    withReplies(item);
    item.messages.push(...pending);
    redrawLog(item);
  }
  function labelled(labelText, control) {
    const id = control.id || (control.id = uid("f"));
    return el("div", { class: "field" }, el("label", { for: id }, labelText), control);
  }
  function contactCard(item) {
    const contact = item.contact;
    const id = contact.contact_id;
    const log = el("div", { class: "conversation", role: "log", "aria-label": t("conversation"), tabindex: "0" });
    if (contact.text) log.append(conversationLine({ from: "customer", text: contact.text, contact }));
    for (const m of item.messages || []) log.append(conversationLine({ ...m, contact }));
    item.log = log;
    const parts = [whoBlock(contact, true), el("div", { class: "body" }, sentimentBlock(contact)), noteBlock(contact),
      el("p", { class: "meta state" }, t("state", { state: t(item.state) })), log, historyBlock(contact)];
    if (contact.channel !== "voice") parts.push(replyForm(item));  // calls are answered on the phone
    parts.push(wrapForm(item), transferForm(item));
    if ((contact.customer || {}).verified === false && !item.linked) {
      parts.push(el("div", { class: "row" }, el("button", { class: "secondary link", type: "button", onclick: () => linkCustomer(item) }, t("link"))));
    }
    return el("article", { class: "card contact", "data-contact": id, "aria-label": customerName(contact) }, ...parts);
  }
  function replyForm(item) {
    const id = item.contact.contact_id;
    const input = el("textarea", { class: "reply-text", rows: "2", maxlength: "4000" });
    const queue = (state.setup.queues.find((q) => q.name === item.contact.queue) || {});
    const canned = (queue.canned_replies || {})[item.contact.language || window.I18N.lang]
      || (queue.canned_replies || {})[window.I18N.lang] || [];
    const picker = canned.length ? el("select", { class: "canned" }, el("option", { value: "" }, "—"),
      ...canned.map((text) => el("option", { value: text }, text))) : null;
    const form = el("form", { class: "reply-form", onsubmit: (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      const message = { type: "message", contact_id: id, text };
      const outbox = item.contact.channel !== "chat";  // sent by the provider, with a status
      if (outbox) message.reply_key = `${Date.now()}-${state.refs}-${Math.random().toString(36).slice(2)}`;
      const ref = send(message);
      addLine(item, outbox ? { from: "me", text, ref, status: "pending" } : { from: "me", text });
      input.value = "";
      input.focus();
    } }, labelled(t("reply"), input),
      picker ? el("div", { class: "row" }, labelled(t("canned"), picker),
        el("button", { class: "secondary use-canned", type: "button", onclick: () => {
          if (picker.value) { input.value = picker.value; input.focus(); }
        } }, t("use_canned"))) : "",
      el("div", { class: "row" }, el("button", { type: "submit", class: "send" }, t("send"))));
    return form;
  }
  function wrapForm(item) {
    const id = item.contact.contact_id;
    const outcomes = state.setup.outcomes || [];
    const outcome = outcomes.length
      ? el("select", { class: "outcome" }, ...outcomes.map((o) => el("option", { value: o.code }, (o.label || {})[window.I18N.lang] || o.code)))
      : el("input", { class: "outcome", maxlength: "200" });
    const resolved = el("input", { type: "checkbox", class: "resolved", checked: true });
    const resolvedId = uid("resolved");
    resolved.id = resolvedId;
    const syncResolved = () => { const o = outcomes.find((x) => x.code === outcome.value); if (o) resolved.checked = o.resolved; };
    outcome.addEventListener("change", syncResolved);
    syncResolved();
    const notes = el("textarea", { class: "notes", rows: "2", maxlength: "4000" });
    const followUp = el("input", { class: "follow-up", size: "8", maxlength: "10", pattern: "[0-9]+[smhd]?" });
    return el("form", { class: "wrap-form", onsubmit: (event) => {
      event.preventDefault();
      const message = { type: "wrap_up", contact_id: id, outcome: outcome.value || "handled", resolved: resolved.checked, notes: notes.value };
      if (followUp.value) { message.follow_up_in = followUp.value; message.follow_up_note = notes.value; }
      send(message);
    } }, el("fieldset", {}, el("legend", {}, t("wrap_up_legend")),
      el("div", { class: "row" }, labelled(t("outcome"), outcome),
        el("div", { class: "field" }, el("span", {}, resolved, " ", el("label", { for: resolvedId }, t("resolved")))),
        labelled(t("follow_up"), followUp)),
      labelled(t("notes"), notes),
      el("div", { class: "row" }, el("button", { type: "submit", class: "wrap" }, t("close")))));
  }
  function transferForm(item) {
    const id = item.contact.contact_id;
    const target = el("select", { class: "transfer-target" },
      el("optgroup", { label: t("queues") }, ...state.setup.queues.map((q) => el("option", { value: "queue:" + q.name }, q.name))),
      el("optgroup", { label: t("agents") }, ...state.setup.agents.filter((a) => a.agent_id !== state.agentId)
        .map((a) => el("option", { value: "agent:" + a.agent_id }, a.name || a.agent_id))));
    const note = el("textarea", { class: "transfer-note", rows: "2", maxlength: "2000" });
    return el("form", { class: "transfer-form", onsubmit: (event) => {
      event.preventDefault();
      const [kind, name] = target.value.split(/:(.*)/s);
      const message = { type: "transfer", contact_id: id, note: note.value.trim() };
      message[kind] = name;
      send(message);
    } }, el("fieldset", {}, el("legend", {}, t("transfer_legend")),
      el("div", { class: "row" }, labelled(t("transfer_to"), target)),
      labelled(t("transfer_note"), note),
      el("div", { class: "row" }, el("button", { type: "submit", class: "secondary transfer" }, t("transfer")))));
  }
  function addLine(item, message) {
    (item.messages = item.messages || []).push(message);
    if (item.log) { item.log.append(conversationLine({ ...message, contact: item.contact })); item.log.scrollTop = item.log.scrollHeight; }
  }
  function syncContacts() {
    const box = $("contacts");
    for (const card of [...box.children]) if (!state.contacts.has(card.dataset.contact)) card.remove();
    for (const item of state.contacts.values()) {
      if (!box.querySelector(`[data-contact="${CSS.escape(item.contact.contact_id)}"]`)) {
        box.append(contactCard(item));
        if (!item.loaded) { item.loaded = true; loadConversation(item); }
      }
    }
    $("no-contacts").hidden = state.contacts.size > 0;
  }
  function redrawContact(item) {
    const old = $("contacts").querySelector(`[data-contact="${CSS.escape(item.contact.contact_id)}"]`);
    if (!old) return;
    const focused = document.activeElement && old.contains(document.activeElement) ? document.activeElement.className : null;
    const fresh = contactCard(item);
    old.replaceWith(fresh);
    if (focused) { const again = fresh.getElementsByClassName(focused)[0]; if (again) again.focus(); }
  }
  function setItemState(item, value) {
    item.state = value;
    const card = $("contacts").querySelector(`[data-contact="${CSS.escape(item.contact.contact_id)}"] .state`);
    if (card) card.textContent = t("state", { state: t(value) });
  }

  async function linkCustomer(item) {
    const checked = window.prompt(t("how_checked"));
    if (!checked) return;
    const headers = { "content-type": "application/json" };
    if (state.token) headers.authorization = "Bearer " + state.token;
    if (state.csrf) headers["x-csrf-token"] = state.csrf;
    const reply = await fetch(`/v1/contacts/${encodeURIComponent(item.contact.contact_id)}/customer/link`, {
      method: "POST", headers, credentials: "same-origin", body: JSON.stringify({ checked }),
    });
    if (reply.ok) {
      item.linked = true;
      item.contact.customer = { ...item.contact.customer, verified: true };
      redrawContact(item);
    } else {
      $("status").textContent = (await reply.json()).detail || String(reply.status);
    }
  }

  // ------------------------------------------------------------------------- protocol
  // presence with its away reason (code label), the agent's words and who forced it
  function showPresence(p) {
    state.presence = p;
    const label = p.code ? (state.reasons[p.code] || p.code) : "";
    const why = [label, p.reason, p.forced_by ? t("forced_by", { name: p.forced_by }) : ""].filter(Boolean).join(", ");
    $("status").textContent = (t(p.presence) || p.presence) + (why ? ` (${why})` : "");
    $("presence").value = p.presence === "wrap_up" ? "available"
      : (p.presence === "away" && p.code && state.reasons[p.code] ? `away:${p.code}` : p.presence);
  }
  // the away reasons of the welcome state, as "away:<code>" options before "log off"
  function renderReasons() {
    const select = $("presence");
    select.querySelectorAll("option[data-code]").forEach((o) => o.remove());
    for (const [code, label] of Object.entries(state.reasons)) {
      select.insertBefore(el("option", { value: `away:${code}`, "data-code": code }, t("away_reason", { label })),
                          select.querySelector("option[value='offline']"));
    }
    if (state.presence) showPresence(state.presence);
  }
  function notice(text, kind) {
    const box = $("notices");
    box.prepend(el("p", { class: "notice " + kind }, el("span", { class: "meta" }, window.I18N.time(now()) + " "), text));
    while (box.children.length > 6) box.lastElementChild.remove();
  }
  function applyState(snapshot) {
    state.offers = new Map(snapshot.offers.map((o) => [o.offer_id, o]));
    state.contacts = new Map(snapshot.contacts.map((c) => [c.contact.contact_id, { ...c, messages: c.messages || [] }]));
    for (const item of state.contacts.values()) withReplies(item);
    $("offers").replaceChildren(); $("contacts").replaceChildren();
    state.reasons = snapshot.reasons || {};
    renderReasons();
    showPresence(snapshot);
    syncOffers(); syncContacts();
  }
  function onEvent(event) {
    if (event.seq) state.lastSeq = Math.max(state.lastSeq, event.seq);
    switch (event.type) {
      case "welcome":
        state.stream = event.stream; state.lastSeq = event.seq; state.agentId = event.agent.agent_id;
        $("agent-name").textContent = `centralino — ${event.agent.name || event.agent.agent_id}`;
        applyState(event.state); break;
      case "offer": state.offers.set(event.offer_id, event); syncOffers(); break;
      case "offer_ended": {
        const offer = state.offers.get(event.offer_id);
        if (offer && event.outcome === "accepted") state.accepted.set(event.contact_id, offer.contact);
        state.offers.delete(event.offer_id); syncOffers(); break;
      }
      case "assigned": {
        const contact = state.accepted.get(event.contact_id) || { contact_id: event.contact_id };
        state.accepted.delete(event.contact_id);
        state.contacts.set(event.contact_id, { state: "assigned", contact, messages: [] });
        syncContacts();
        const card = $("contacts").querySelector(`[data-contact="${CSS.escape(event.contact_id)}"] textarea, [data-contact="${CSS.escape(event.contact_id)}"] select`);
        if (card) card.focus();
        break;
      }
      case "wrap_up": { const c = state.contacts.get(event.contact_id); if (c) setItemState(c, "wrap_up"); break; }
      case "completed": case "transferred": state.contacts.delete(event.contact_id); syncContacts(); break;
      case "message": {
        const c = state.contacts.get(event.contact_id);
        if (c) addLine(c, { from: "customer", text: event.text });
        break;
      }
      case "contact_update": {
        const c = state.contacts.get(event.contact.contact_id);
        if (c) { c.contact = { ...c.contact, ...event.contact }; redrawContact(c); }
        const o = [...state.offers.values()].find((x) => x.contact.contact_id === event.contact.contact_id);
        if (o) { o.contact = { ...o.contact, ...event.contact }; redrawOffer(o); }
        break;
      }
      case "presence": showPresence(event); break;
      case "state_limit":
        notice(t("over_limit", { label: state.reasons[event.code] || event.code, time: window.I18N.duration(event.limit) }), "limit");
        break;
      case "supervisor_message": notice(t("supervisor_says", { name: event.from, text: event.text }), "supervisor"); break;
      case "reassigned":
        state.contacts.delete(event.contact_id); syncContacts();
        notice(t("moved_by", { name: event.by, to: event.to === "queue" ? t("to_queue") : event.to, reason: event.reason || "—" }), "supervisor");
        break;
      case "ack": {
        const [item, m] = event.reply ? findReply((x) => x.ref === event.ref && !x.reply_id) : [null, null];
        if (m) {  // a status may have come before its ack
          const early = state.early.get(event.reply.reply_id) || event.reply;
          state.early.delete(event.reply.reply_id);
          Object.assign(m, { reply_id: event.reply.reply_id, status: early.status, reason: early.reason });
          redrawLog(item);
        }
        break;
      }
      case "reply_status": {
        const [item, m] = findReply((x) => x.reply_id === event.reply_id);
        if (!m) { const seen = state.early.get(event.reply_id); if (!seen || !FINAL.includes(seen.status)) state.early.set(event.reply_id, event); break; }
        if (!FINAL.includes(m.status)) { m.status = event.status; m.reason = event.reason; redrawLog(item); }
        break;
      }
      case "error": {
        const [item, m] = findReply((x) => x.ref === event.ref && !x.reply_id && x.status === "pending");
        if (m) { m.status = "failed"; m.reason = event.message; redrawLog(item); }
        $("status").textContent = event.message;
        break;
      }
    }
  }

  async function loadSetup() {
    const headers = state.token ? { authorization: "Bearer " + state.token } : {};
    const reply = await fetch("/v1/desktop/setup", { headers, credentials: "same-origin" });
    if (reply.ok) state.setup = await reply.json();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(scheme + "//" + location.host + "/v1/desktop");
    socket.onopen = () => {
      const login = { type: "login" };
      if (state.token) login.token = state.token;
      if (state.stream) login.resume = { stream: state.stream, after_seq: state.lastSeq };
      socket.send(JSON.stringify(login));
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "error" && event.code === "session_ended") {
        location.assign("/signin?next=/desktop"); return;
      }
      if (event.type === "error" && event.code === "unauthorized") {
        $("login-error").textContent = t("invalid_token");
        $("login").hidden = false; $("app").hidden = true; return;
      }
      if (event.type === "welcome") {
        $("login").hidden = true; $("app").hidden = false; $("presence-box").hidden = false;
      }
      onEvent(event);
    };
    socket.onclose = (event) => { if (event.code !== 4401 && event.code !== 4001) setTimeout(connect, 1000); };
  }

  async function start() {
    window.I18N.apply();
    window.I18N.bindSwitch($("lang"));
    window.I18N.onChange(() => { renderReasons(); $("offers").replaceChildren(); $("contacts").replaceChildren(); syncOffers(); syncContacts(); });
    $("token-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      state.token = $("token").value.trim();
      await loadSetup();
      connect();
    });
    $("presence").addEventListener("change", (event) => {
      const [presence, code] = event.target.value.split(":");
      send(code ? { type: "presence", presence, code } : { type: "presence", presence });
    });
    $("signout").addEventListener("click", async () => {
      await fetch("/v1/signout", { method: "POST", headers: { "x-csrf-token": state.csrf }, credentials: "same-origin" });
      location.assign("/signin?next=/desktop");
    });
    setInterval(() => { for (const card of $("offers").children) if (card.tick) card.tick(); }, 1000);
    const session = await fetch("/v1/session", { credentials: "same-origin" });
    if (session.ok) {
      const me = await session.json();
      state.csrf = me.csrf;
      $("signout").hidden = false;
      if (me.agent_id) { await loadSetup(); connect(); return; }
    }
    $("login").hidden = false;
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
