// Playground: chat with the agent as a test contact (streamed answers, citations, trace), test events, search.
import { api, readSSE, enc } from "../api.js";
import { el, card, bar, errorBox, notice, tabs, fmtPct, fmtMs, safeUrl, textWithCitations, STAGE_INFO } from "../ui.js";

const PRESETS = [
  { key: "playground-prospect", label: "Prospect (new visitor)", lifecycle: "prospect" },
  { key: "playground-onboarding", label: "Onboarding user", lifecycle: "onboarding" },
  { key: "playground-customer", label: "Customer", lifecycle: "customer" },
];
const EVENTS = ["limit_reached", "signed_up", "onboarding_step_completed", "upgraded", "subscription_cancelled"];
const sessions = new Map(); // contact key -> session id (for this page's life)

export default async function playground(ctx) {
  const t = tabs([
    { id: "chat", label: "Chat", render: () => chatPane(ctx) },
    { id: "search", label: "Search API", render: () => searchPane(ctx) },
  ], ctx.params.get("tab") || "chat");
  return t;
}

function chatPane(ctx) {
  const agent = ctx.agent;
  const root = el("div.split");
  if (!agent) {
    root.append(card("Chat", notice(ctx.agentsAvailable ? "No agent yet: create one in the Agent builder." : "Chat is not available on this server yet (no /v1/agents). The Search API tab works already.", "unavailable")));
    return root;
  }
  const contactSel = el("select#contact", { "aria-label": "test contact" }, PRESETS.map((p) => el("option", { value: p.key }, p.label)));
  api(`/v1/agents/${enc(agent)}/contacts`).then(({ contacts }) => {
    const saved = (contacts || []).filter((c) => !PRESETS.some((p) => p.key === c.key));
    if (saved.length) contactSel.append(el("optgroup", { label: "Saved contacts" }, saved.map((c) => el("option", { value: c.key || c.id }, `${c.key || c.id} (${c.lifecycle || "?"})`))));
  }).catch(() => {});
  const messages = el("div.messages#messages", { "aria-live": "polite" });
  const input = el("input#ask", { placeholder: "Ask the agent…", "aria-label": "message", autocomplete: "off" });
  const sendBtn = el("button.primary", { type: "submit" }, "Send");
  const trace = el("div#trace", el("p.muted", "Ask something: the trace of each answer shows here (stage and why, the rewritten query, retrieved chunks with their scores, evidence, confidence, memory)."));
  let lastTurn = null;

  const openSource = (turn, n) => {
    const c = (turn.citations || []).find((x) => Number(x.n) === n);
    if (!c) return;
    renderTrace(trace, turn, c);
    const url = safeUrl(c.url);
    if (url) window.open(url, "_blank", "noopener,noreferrer");
  };

  async function session(contact) {
    if (sessions.has(agent + "/" + contact)) return sessions.get(agent + "/" + contact);
    try {
      // A preset test contact starts in its lifecycle (customer, onboarding) from the first message.
      const preset = PRESETS.find((p) => p.key === contact);
      const r = await api(`/v1/agents/${enc(agent)}/sessions`, { method: "POST", body: preset ? { contact, lifecycle: preset.lifecycle } : { contact } });
      sessions.set(agent + "/" + contact, r.session);
      return r.session;
    } catch (e) {
      if (e.unavailable) return null;
      throw e;
    }
  }

  async function ask(text) {
    const contact = contactSel.value;
    messages.append(el("div.msg.user", text));
    const bubble = el("div.msg.assistant", el("span.muted", "…"));
    messages.append(bubble);
    messages.scrollTop = messages.scrollHeight;
    sendBtn.disabled = true;
    try {
      const ses = await session(contact);
      const body = { message: text, stream: true };
      if (ses) body.session = ses; else body.contact = contact;
      const res = await api(`/v1/agents/${enc(agent)}/chat`, { method: "POST", body, raw: true, headers: { Accept: "text/event-stream" } });
      let turn = null;
      if ((res.headers.get("content-type") || "").includes("text/event-stream")) {
        let acc = "";
        for await (const { event, data } of readSSE(res)) {
          if (event === "delta") { acc += (data && data.text) || ""; bubble.textContent = acc; messages.scrollTop = messages.scrollHeight; }
          else if (event === "turn") turn = data;
          else if (event === "error") throw new Error((data && data.error && data.error.message) || (data && data.message) || "the stream failed");
          else if (event === "done") break;
        }
      } else turn = await res.json();
      if (!turn) throw new Error("the answer stream ended without a turn");
      lastTurn = turn;
      renderTurn(bubble, turn, (n) => openSource(turn, n));
      renderTrace(trace, turn);
    } catch (e) {
      bubble.replaceWith(errorBox(e, "Chat"));
    } finally {
      sendBtn.disabled = false;
      messages.scrollTop = messages.scrollHeight;
    }
  }

  const form = el("form.composer", { on: { submit: (ev) => { ev.preventDefault(); const v = input.value.trim(); if (v) { input.value = ""; ask(v); } } } }, input, sendBtn);

  // Test events (e.g. limit_reached → a proactive expansion message).
  const evName = el("select#event-name", { "aria-label": "event" }, EVENTS.map((n) => el("option", n)));
  const evProps = el("input#event-props", { value: '{"metric": "monitors"}', "aria-label": "event properties (JSON)", class: "grow mono" });
  const evMsg = el("div");
  const evForm = el("form.row", { on: { submit: async (ev) => {
    ev.preventDefault();
    evMsg.replaceChildren();
    let properties = {};
    try { properties = evProps.value.trim() ? JSON.parse(evProps.value) : {}; } catch { evMsg.append(notice("Properties must be JSON.", "warn")); return; }
    try {
      const r = await api("/v1/events", { method: "POST", body: { agent, contact: contactSel.value, name: evName.value, properties } });
      if (r.proactive && r.proactive.text) {
        const b = el("div.msg.assistant.proactive");
        renderTurn(b, Object.assign({ answer: r.proactive.text, stage: r.proactive.stage || "expansion" }, r.proactive), () => {});
        messages.append(el("div.msg.system", `event ${evName.value} sent`), b);
        messages.scrollTop = messages.scrollHeight;
      } else evMsg.append(notice(`Event ${evName.value} recorded; no proactive message for it.`, "info"));
    } catch (e) { evMsg.append(errorBox(e, "Event")); }
  } } }, evName, evProps, el("button", { type: "submit" }, "Send event"));

  root.append(
    el("section.card",
      el("div.row", { style: { marginBottom: "8px" } }, el("h2", { style: { margin: 0 } }, "Chat"), el("span.spacer"), el("span.muted.small", "as"), contactSel,
        el("button.small", { type: "button", on: { click: () => { sessions.delete(agent + "/" + contactSel.value); messages.replaceChildren(); } } }, "New session")),
      el("div.chat", messages, form),
      el("h3", "Test events"), evForm, evMsg),
    el("section.card", el("h2", "Trace"), trace));
  contactSel.addEventListener("change", () => { messages.replaceChildren(el("div.msg.system", `Now chatting as ${contactSel.selectedOptions[0].textContent}`)); });
  return root;
}

/** An answer bubble: text with numbered citation buttons, the sources list, stage and confidence. */
export function renderTurn(bubble, turn, onCite) {
  bubble.replaceChildren();
  textWithCitations(bubble, turn.answer, turn.citations, onCite);
  if ((turn.citations || []).length) {
    bubble.append(el("ol.sources", turn.citations.map((c) => {
      const url = safeUrl(c.url);
      return el("li", { value: c.n },
        el("button.link.cite-open", { type: "button", style: { color: "var(--accent)" }, on: { click: () => onCite(Number(c.n)) } }, c.title || c.path || c.url || "source"),
        url ? [" ", el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, "↗")] : null);
    })));
  }
  const meta = el("div.meta");
  if (turn.stage) meta.append(el("span.pill", { style: { background: (STAGE_INFO[turn.stage] || {}).color || "#eee", color: "#fff" } }, turn.stage));
  if (Number.isFinite(turn.confidence)) meta.append(el("span.pill", `confidence ${fmtPct(turn.confidence)}`));
  if (turn.idk) meta.append(el("span.pill.bad", "I don't know"));
  if (turn.handoff) meta.append(el("span.pill.bad", `handoff: ${turn.handoff.reason || "requested"}`));
  if (turn.lead) meta.append(el("span.pill.ok", "lead captured"));
  if (Number.isFinite(turn.latency_ms)) meta.append(el("span.pill", fmtMs(turn.latency_ms)));
  if (meta.childNodes.length) bubble.append(meta);
}

function scoreBars(items) {
  const max = (k) => Math.max(1e-9, ...items.map((i) => (k === "fused" ? i.fused : i[k] && i[k].score) || 0));
  const m = { bm25: max("bm25"), vector: max("vector"), fused: max("fused") };
  return (i) => [
    bar("BM25", i.bm25 ? i.bm25.score / m.bm25 : 0, i.bm25 ? `${i.bm25.score.toFixed(2)} #${i.bm25.rank}` : "–", "bm25"),
    bar("vector", i.vector ? i.vector.score / m.vector : 0, i.vector ? `${i.vector.score.toFixed(2)} #${i.vector.rank}` : "–", "vector"),
    bar("fused", Number.isFinite(i.fused) ? i.fused / m.fused : 0, Number.isFinite(i.fused) ? i.fused.toFixed(3) : "–", "fused"),
  ];
}

function renderTrace(box, turn, focus) {
  box.replaceChildren();
  const tr = turn.trace;
  if (focus) {
    const url = safeUrl(focus.url);
    box.append(el("div.notice.info", el("b", `[${focus.n}] ${focus.title || focus.path}`), el("div.small.mono", focus.path || ""),
      url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, url) : null));
  }
  const stage = (tr && tr.stage) || turn.stage;
  box.append(el("h3", "Stage"), el("div.row", el("span.pill", { style: { background: (STAGE_INFO[stage] || {}).color || "#eee", color: "#fff" } }, stage || "?"),
    el("span", (tr && tr.stage_reason) || turn.stage_reason || "")));
  if (!tr) { box.append(notice("No trace in this answer (the trace comes only with the admin token).", "info")); return; }
  if (tr.stage_scores) {
    // The router's score per stage (intent from the example bank, plus lifecycle and evidence).
    const max = Math.max(1e-9, ...Object.values(tr.stage_scores));
    box.append(el("div.stage-scores", Object.entries(tr.stage_scores).map(([s, v]) =>
      bar((STAGE_INFO[s] || {}).label || s, v / max, `${(v * 100).toFixed(0)} · intent ${fmtPct((tr.intent_scores || {})[s] || 0)}`, "fused"))));
  }
  if (Number.isFinite(tr.domain_score)) {
    box.append(el("p.small.muted", `Best match ${tr.domain_score.toFixed(2)} · off-topic questions reach ${Number(tr.domain_threshold).toFixed(2)} on this knowledge base` +
      (Number.isFinite(tr.offtopic_lean) ? ` · leans off-topic ${tr.offtopic_lean.toFixed(2)}${tr.offtopic_lean > 0.08 ? " (refused)" : ""}` : "") +
      (tr.question_kind ? ` · question kind: ${tr.question_kind}` : "")));
  }
  box.append(el("h3", "Rewritten query"), el("div.mono", tr.rewritten_query || "–"));
  const conf = Number(tr.confidence ?? turn.confidence);
  box.append(el("h3", `Confidence ${fmtPct(conf)}`), el("div.meter", el("i", { style: { left: `calc(${Math.max(0, Math.min(1, conf || 0)) * 100}% - 2px)` } })));
  const retrieved = tr.retrieved || [];
  const bars = scoreBars(retrieved);
  box.append(el("h3", `Retrieved chunks (${retrieved.length})`), el("div.retrieved", retrieved.map((c) => {
    const hl = focus && c.path === focus.path;
    return el("div.chunk" + (hl ? ".hl" : ""),
      el("div.t", c.title || c.path, (c.heading_path || []).length ? el("span.muted", " › " + c.heading_path.join(" › ")) : null),
      el("div.x", c.text || ""), bars(c));
  })));
  if ((tr.evidence || []).length) {
    box.append(el("h3", "Evidence used"), el("ol.small", tr.evidence.map((e) => el("li", e.text, e.citation ? el("span.muted", ` [${e.citation}]`) : null,
      Number.isFinite(e.score) ? el("span.muted", ` · ${e.score.toFixed(2)}`) : null))));
  }
  const mem = tr.memory;
  if (mem) {
    box.append(el("h3", "Memory"), el("div.row", el("span.pill", `lifecycle: ${mem.lifecycle || "?"}`)),
      mem.summary ? el("p.small", mem.summary) : null,
      (mem.facts || []).length ? el("table.small", el("tbody", mem.facts.map((f) => el("tr", el("td.muted", f.key), el("td", typeof f.value === "string" ? f.value : JSON.stringify(f.value)))))) : el("p.muted.small", "No facts yet."));
  }
}

function searchPane(ctx) {
  const kb = ctx.kb;
  const q = el("input.grow#search-q", { type: "search", placeholder: "Search the knowledge base…", "aria-label": "query" });
  const mode = el("select#search-mode", { "aria-label": "mode" }, ["hybrid", "bm25", "vector"].map((m) => el("option", m)));
  const ptype = el("select#search-type", { "aria-label": "page type" }, ["any type", "docs", "help", "pricing", "faq", "changelog", "blog", "legal", "other"].map((m) => el("option", { value: m === "any type" ? "" : m }, m)));
  const out = el("div#hits");
  const form = el("form.row", { on: { submit: async (ev) => {
    ev.preventDefault();
    out.replaceChildren(el("p.muted", "Searching…"));
    const body = { q: q.value, mode: mode.value, limit: 10 };
    if (ptype.value) body.filter = { page_type: [ptype.value] };
    try {
      const r = await api(`/v1/kbs/${enc(kb)}/search`, { method: "POST", body });
      const bars = scoreBars(r.hits.map((h) => ({ bm25: h.scores && h.scores.bm25, vector: h.scores && h.scores.vector, fused: h.score })));
      out.replaceChildren(el("p.muted", `${r.hits.length} of ~${r.estimated_total_hits ?? r.hits.length} hits in ${Number(r.processing_time_ms).toFixed(1)} ms`),
        ...r.hits.map((h) => {
          const url = safeUrl(h.url);
          return el("div.hit",
            el("b", h.title, (h.heading_path || []).length ? el("span.muted", " › " + h.heading_path.join(" › ")) : null),
            el("div.small.muted", el("span.pill.pt-" + h.page_type, h.page_type), " ", url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, h.path) : h.path),
            el("p", { style: { margin: "6px 0" } }, highlighted(h.snippet, h.highlights)),
            el("div", { style: { maxWidth: "460px" } }, bars({ bm25: h.scores && h.scores.bm25, vector: h.scores && h.scores.vector, fused: h.score })));
        }));
    } catch (e) { out.replaceChildren(errorBox(e, "Search")); }
  } } }, q, mode, ptype, el("button.primary", { type: "submit" }, "Search"));
  return card(kb ? `Search “${kb}”` : "Search", kb ? form : notice("No knowledge base yet.", "info"),
    el("p.muted.small", `POST /v1/kbs/${kb || "{kb}"}/search — hybrid fuses BM25 and vector ranks; bars compare each retriever's score within these results.`), out);
}

function highlighted(text, ranges) {
  const frag = document.createDocumentFragment();
  const bytes = new TextEncoder().encode(text || "");
  const dec = new TextDecoder();
  let at = 0;
  for (const [s, e] of ranges || []) {
    frag.append(dec.decode(bytes.slice(at, s)));
    frag.append(el("mark", dec.decode(bytes.slice(s, e))));
    at = e;
  }
  frag.append(dec.decode(bytes.slice(at)));
  return frag;
}
