"use strict";
// Message catalogues (Italian, English) and locale-aware formatting for the pages.
// The language is the one chosen with the switch (kept in localStorage), else the
// browser's first language we have, else English. Times and dates use Intl in the
// browser's own locale for that language (it-IT, en-GB...), always on a 24-hour clock.
window.I18N = (() => {
  const CATALOG = {
    en: {
      language: "Language", signin: "Sign in", signout: "Sign out", signin_needed: "Sign in to continue.",
      token_login: "Or use a desktop token", token: "Desktop token", open: "Open", invalid_token: "Invalid or revoked token",
      desktop: "Agent desktop", offers: "Offers", no_offers: "No offers right now.", my_contacts: "My contacts",
      no_contacts: "No conversations in progress.", presence: "Presence", available: "Available", away: "Away",
      offline: "Log off", wrap_up: "Wrapping up", accept: "Accept", reject: "Reject", accept_from: "Accept the contact from {name}",
      reject_from: "Reject the contact from {name}", answer_within: "Answer within {time}", waiting_for: "Waiting for {time}",
      customer: "Customer", claims: "claims to be {who} (not verified)", moment_of_truth: "moment of truth",
      mood_very_upset: "Very upset", mood_upset: "Upset", mood_calm: "Calm", mood_pleased: "Pleased", mood_unknown: "Mood not known yet",
      reasons: "Why", reason_words: "words that weigh: {words}", reason_provider: "score from the channel provider",
      history: "Earlier contacts", unresolved: "not resolved", resolved: "resolved", conversation: "Conversation",
      found_in_text: "in the text: {found} → {value}", add: "Add", add_identity_for: "Add {value} to the customer", open_case: "open case: {queue} · {agent}",
      reply_pending: "recorded", reply_sending: "sending", reply_sent: "sent", reply_failed: "not sent", reply_unknown: "unknown: check with the provider before resending",
      you: "You", note_from: "Note from {name}", reply: "Reply", send: "Send", canned: "Ready answers", use_canned: "Insert",
      wrap_up_legend: "Wrap-up", outcome: "Outcome", notes: "Notes", follow_up: "Follow-up in (e.g. 2d)", close: "Close contact",
      transfer_legend: "Transfer", transfer_to: "To", queues: "Queues", agents: "Agents", transfer_note: "Note for the colleague",
      transfer: "Transfer", link: "Checked: link the customer", how_checked: "How did you check?", state: "State: {state}",
      assigned: "in conversation", channel_chat: "chat", channel_email: "email", channel_voice: "call", channel_social: "social",
      wallboard: "Wallboard", service_level: "Service level", queue: "Queue", waiting: "Waiting", longest_wait: "Longest wait",
      in_progress: "In progress", agent: "Agent", load: "Load", state_col: "State", waiting_contacts: "Waiting contacts",
      position: "Position", channel: "Channel", lang: "Language", urgency: "Urgency", priority: "Priority",
      answered_abandoned: "{answered} answered, {abandoned} abandoned", sla_target: "{target}% within {time}", updated: "Updated {time}",
      urgency_high: "high", urgency_medium: "medium", urgency_low: "low", queued: "queued", offered: "offered",
      chat_title: "Customer care", name: "Name", email: "Email", message: "Message", type_message: "Type a message…",
      privacy: "We use your name, email and messages only to answer you; they are kept as our privacy policy says.",
      waiting_agent: "Waiting for an agent…", estimated_wait: "Estimated wait: about {time}", estimated_wait_short: "Estimated wait: under a minute",
      callback_button: "Call me back", callback_prompt: "Your phone number", callback_confirmed: "We will call you back at {number}", joined: "{name} has joined",
      transferring: "Transferring you to a colleague…", ended: "Chat ended. Thank you!", sent_by_agent: "{name}:",
      transfer_note_line: "Transfer note",
      cue_anger: "anger", cue_frustration: "frustration", cue_distress: "distress", cue_churn: "wants to leave",
      cue_legal: "legal threat", cue_repeat: "contacting again", cue_sarcasm: "sarcasm", "cue_negated praise": "praise denied",
      cue_positive: "praise", cue_capitals: "shouting (capitals)", cue_exclamations: "exclamation marks",
      "cue_repeated ?/!": "repeated ?/!", "cue_negative emoji": "sad or angry emoji", "cue_positive emoji": "happy emoji",
      away_reason: "Away: {label}", forced_by: "by {name}", notices: "Notices", over_limit: "Over the limit for {label} ({time})",
      supervisor_says: "{name}: {text}", moved_by: "Contact moved by {name} ({to}): {reason}", to_queue: "back to the queue",
      alerts: "Alerts", no_alerts: "No alerts",
      alert_unstaffed_queue: "Queue {queue}: {waiting} waiting ({channels}) and no agent signed in can serve them",
      alert_sla_breach: "Queue {queue}/{channel}: {count} past the {threshold} threshold (longest {oldest})",
      alert_service_level: "Channel {channel}: service level {level} below the {target} target",
      alert_state_limit: "Agent {agent}: {code} for {time} (limit {limit})",
      in_state_for: "for {time}", pick_contact: "Pick contact {what}", held_n: "contact {n}", held_of: "{agent}'s contact {n}", holds: "Contacts held",
      actions: "Supervisor actions", act_contact: "Contact", act_contact_hint: "click a waiting row or a held contact",
      act_agent: "Agent", act_priority: "Priority", act_reason: "Reason or message", act_state: "State",
      act_reassign: "Assign to the agent", act_pull: "Back to the queue", act_priority_do: "Change priority",
      act_message: "Message the agent", act_presence: "Force state", act_ok: "{action}: done",
      act_failed: "{action}: {status} {detail}",
      today: "Today", report_csv: "Download CSV", sl_chart: "Service level over the day, per channel",
      report_queue: "Queue", offered_n: "Offered", answered_n: "Answered", sl: "SL", asa: "ASA", abandoned_n: "Abandoned",
      aht: "AHT", csat: "CSAT", short_abandoned: "{n} short", report_error: "Report not available: {error}",
      negated: "denied: {what}", intensified: "strongly", messages_waiting: "{n} messages while waiting",
    },
    it: {
      language: "Lingua", signin: "Accedi", signout: "Esci", signin_needed: "Accedi per continuare.",
      token_login: "Oppure usa un token del desktop", token: "Token del desktop", open: "Apri", invalid_token: "Token non valido o revocato",
      desktop: "Desktop operatore", offers: "Offerte", no_offers: "Nessuna offerta al momento.", my_contacts: "I miei contatti",
      no_contacts: "Nessuna conversazione in corso.", presence: "Stato", available: "Disponibile", away: "Assente",
      offline: "Disconnesso", wrap_up: "In chiusura", accept: "Accetta", reject: "Rifiuta", accept_from: "Accetta il contatto di {name}",
      reject_from: "Rifiuta il contatto di {name}", answer_within: "Rispondi entro {time}", waiting_for: "In attesa da {time}",
      customer: "Cliente", claims: "dichiara di essere {who} (non verificato)", moment_of_truth: "momento della verità",
      mood_very_upset: "Molto arrabbiato", mood_upset: "Scontento", mood_calm: "Tranquillo", mood_pleased: "Soddisfatto", mood_unknown: "Umore non ancora noto",
      reasons: "Perché", reason_words: "parole che pesano: {words}", reason_provider: "valutazione del fornitore del canale",
      history: "Contatti precedenti", unresolved: "non risolto", resolved: "risolto", conversation: "Conversazione",
      found_in_text: "nel testo: {found} → {value}", add: "Aggiungi", add_identity_for: "Aggiungi {value} al cliente", open_case: "caso aperto: {queue} · {agent}",
      reply_pending: "registrata", reply_sending: "in invio", reply_sent: "inviata", reply_failed: "non inviata", reply_unknown: "esito ignoto: verificare col fornitore prima di rinviare",
      you: "Tu", note_from: "Nota di {name}", reply: "Risposta", send: "Invia", canned: "Risposte pronte", use_canned: "Inserisci",
      wrap_up_legend: "Chiusura", outcome: "Esito", notes: "Note", follow_up: "Richiamo tra (es. 2d)", close: "Chiudi contatto",
      transfer_legend: "Trasferimento", transfer_to: "A", queues: "Code", agents: "Operatori", transfer_note: "Nota per il collega",
      transfer: "Trasferisci", link: "Verificato: collega il cliente", how_checked: "Come hai verificato?", state: "Stato: {state}",
      assigned: "in conversazione", channel_chat: "chat", channel_email: "email", channel_voice: "chiamata", channel_social: "social",
      wallboard: "Wallboard", service_level: "Livello di servizio", queue: "Coda", waiting: "In attesa", longest_wait: "Attesa massima",
      in_progress: "In corso", agent: "Operatore", load: "Carico", state_col: "Stato", waiting_contacts: "Contatti in attesa",
      position: "Posizione", channel: "Canale", lang: "Lingua", urgency: "Urgenza", priority: "Priorità",
      answered_abandoned: "{answered} risposti, {abandoned} abbandonati", sla_target: "{target}% entro {time}", updated: "Aggiornato alle {time}",
      urgency_high: "alta", urgency_medium: "media", urgency_low: "bassa", queued: "in coda", offered: "offerto",
      chat_title: "Assistenza clienti", name: "Nome", email: "Email", message: "Messaggio", type_message: "Scrivi un messaggio…",
      privacy: "Usiamo nome, email e messaggi solo per risponderti; li conserviamo come dice la nostra informativa privacy.",
      waiting_agent: "In attesa di un operatore…", estimated_wait: "Attesa stimata: circa {time}", estimated_wait_short: "Attesa stimata: meno di un minuto",
      callback_button: "Richiamatemi", callback_prompt: "Il suo numero di telefono", callback_confirmed: "La richiameremo al {number}", joined: "{name} è in linea",
      transferring: "Ti stiamo passando a un collega…", ended: "Chat terminata. Grazie!", sent_by_agent: "{name}:",
      transfer_note_line: "Nota di trasferimento",
      cue_anger: "rabbia", cue_frustration: "frustrazione", cue_distress: "angoscia", cue_churn: "vuole andarsene",
      cue_legal: "minaccia legale", cue_repeat: "ricontatta", cue_sarcasm: "sarcasmo", "cue_negated praise": "elogio negato",
      cue_positive: "apprezzamento", cue_capitals: "urla (maiuscole)", cue_exclamations: "punti esclamativi",
      "cue_repeated ?/!": "?/! ripetuti", "cue_negative emoji": "emoji tristi o arrabbiate", "cue_positive emoji": "emoji felici",
      away_reason: "Assente: {label}", forced_by: "da {name}", notices: "Avvisi", over_limit: "Oltre il limite per {label} ({time})",
      supervisor_says: "{name}: {text}", moved_by: "Contatto spostato da {name} ({to}): {reason}", to_queue: "rimesso in coda",
      alerts: "Avvisi", no_alerts: "Nessun avviso",
      alert_unstaffed_queue: "Coda {queue}: {waiting} in attesa ({channels}) e nessun operatore collegato può servirli",
      alert_sla_breach: "Coda {queue}/{channel}: {count} oltre la soglia di {threshold} (max {oldest})",
      alert_service_level: "Canale {channel}: livello di servizio {level} sotto l'obiettivo {target}",
      alert_state_limit: "Operatore {agent}: {code} da {time} (limite {limit})",
      in_state_for: "da {time}", pick_contact: "Scegli il contatto {what}", held_n: "contatto {n}", held_of: "contatto {n} di {agent}", holds: "Contatti in mano",
      actions: "Azioni del supervisore", act_contact: "Contatto", act_contact_hint: "clic su una riga in attesa o su un contatto in mano",
      act_agent: "Operatore", act_priority: "Priorità", act_reason: "Motivo o messaggio", act_state: "Stato",
      act_reassign: "Assegna all'operatore", act_pull: "Rimetti in coda", act_priority_do: "Cambia priorità",
      act_message: "Scrivi all'operatore", act_presence: "Forza stato", act_ok: "{action}: fatto",
      act_failed: "{action}: {status} {detail}",
      today: "Oggi", report_csv: "Scarica CSV", sl_chart: "Livello di servizio nella giornata, per canale",
      report_queue: "Coda", offered_n: "Offerti", answered_n: "Risposti", sl: "LdS", asa: "ASA", abandoned_n: "Abbandonati",
      aht: "AHT", csat: "CSAT", short_abandoned: "{n} brevi", report_error: "Report non disponibile: {error}",
      negated: "negato: {what}", intensified: "con forza", messages_waiting: "{n} messaggi durante l'attesa",
    },
  };
  const KEY = "centralino.lang";
  function saved() { try { return localStorage.getItem(KEY); } catch (e) { return null; } }
  function pick() {
    const chosen = saved();
    if (chosen && CATALOG[chosen]) return chosen;
    for (const tag of navigator.languages || [navigator.language || ""]) {
      const code = String(tag).slice(0, 2).toLowerCase();
      if (CATALOG[code]) return code;
    }
    return "en";
  }
  let lang = pick();
  const listeners = [];
  function locale() {
    return (navigator.languages || []).find((tag) => String(tag).toLowerCase().startsWith(lang)) || lang;
  }
  function t(key, vars = {}) {
    let text = (CATALOG[lang] && CATALOG[lang][key]) || CATALOG.en[key] || key;
    for (const [name, value] of Object.entries(vars)) text = text.split("{" + name + "}").join(String(value));
    return text;
  }
  function apply(root = document) {
    document.documentElement.lang = lang;
    root.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((node) => { node.placeholder = t(node.dataset.i18nPlaceholder); });
    root.querySelectorAll("[data-i18n-label]").forEach((node) => { node.setAttribute("aria-label", t(node.dataset.i18nLabel)); });
    root.querySelectorAll("select.lang-choice").forEach((node) => { node.value = lang; });
  }
  function setLang(code) {
    if (!CATALOG[code]) return;
    lang = code;
    try { localStorage.setItem(KEY, code); } catch (e) { /* private mode: just this page */ }
    apply();
    listeners.forEach((listener) => listener(code));
  }
  function time(epochSeconds) {
    return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" })
      .format(new Date(epochSeconds * 1000));
  }
  function dateTime(epochSeconds) {
    return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short", hourCycle: "h23" })
      .format(new Date(epochSeconds * 1000));
  }
  function unit(value, name) {
    return new Intl.NumberFormat(locale(), { style: "unit", unit: name, unitDisplay: "short", maximumFractionDigits: 0 }).format(value);
  }
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s >= 3600) return unit(Math.floor(s / 3600), "hour") + " " + unit(Math.floor((s % 3600) / 60), "minute");
    if (s >= 60) return unit(Math.floor(s / 60), "minute") + (s % 60 ? " " + unit(s % 60, "second") : "");
    return unit(s, "second");
  }
  function percent(share) {
    return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(share);
  }
  function bindSwitch(select) {
    select.value = lang;
    select.addEventListener("change", () => setLang(select.value));
  }
  return { t, apply, setLang, time, dateTime, duration, percent, bindSwitch, get lang() { return lang; },
           onChange: (listener) => listeners.push(listener) };
})();
