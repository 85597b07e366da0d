// Audit: the customer conversation audit as charts: funnel per stage, rates, response times, knowledge gaps.
import { api, enc } from "../api.js";
import { el, card, bar, errorBox, notice, fmtPct, fmtMs, STAGES, STAGE_INFO } from "../ui.js";

export default async function audit(ctx) {
  const root = el("div.stack");
  if (!ctx.agentsAvailable || !ctx.agent) {
    root.append(notice(ctx.agentsAvailable ? "No agent yet: create one in the Agent builder." : "The audit is not available on this server yet (no /v1/agents).", "unavailable"));
    return root;
  }
  let a;
  try { a = await api(`/v1/agents/${enc(ctx.agent)}/audit`); } catch (e) { root.append(errorBox(e, "Audit")); return root; }
  const st = a.stages || {};
  const get = (s) => st[s] || {};
  const total = STAGES.reduce((n, s) => n + (get(s).conversations || 0), 0);
  if (a.leaking_stage) root.append(notice(`The ${a.leaking_stage} stage leaks most: start there.`, "warn"));
  if (!total) root.append(notice("No conversation yet: ask in the Playground or on the widget, and the audit fills in.", "info"));

  root.append(el("div.grid.cols-2",
    card("Conversations per stage", funnel(STAGES.map((s) => ({ s, n: get(s).conversations || 0 })), a.leaking_stage)),
    card("Resolution and handoff",
      STAGES.map((s) => el("div", { style: { marginBottom: "8px" } }, el("b.small", STAGE_INFO[s].label),
        // resolved_without_handoff is a count; the bar shows its share of the stage's conversations.
        bar("resolved", resolvedRate(get(s)), fmtPct(resolvedRate(get(s))) + ` (${get(s).resolved_without_handoff ?? 0} of ${get(s).conversations ?? 0})`, "ok"),
        bar("handoff", get(s).handoff_rate ?? 0, fmtPct(get(s).handoff_rate), "bad"),
        bar("“I don't know”", get(s).idk_rate ?? 0, fmtPct(get(s).idk_rate)))))));

  const maxMs = Math.max(1, ...STAGES.map((s) => get(s).median_response_ms || 0));
  root.append(card("Median response time", STAGES.map((s) => bar(STAGE_INFO[s].label, (get(s).median_response_ms || 0) / maxMs, fmtMs(get(s).median_response_ms)))));

  const gaps = a.knowledge_gaps || [];
  const maxGap = Math.max(1, ...gaps.map((g) => g.count || 0));
  root.append(card("Knowledge gaps (unanswered questions, grouped)",
    gaps.length ? gaps.map((g) => el("div.gap",
      el("div", el("b", g.question), (g.examples || []).length > 1 ? el("div.muted.small", "also: " + g.examples.slice(0, 3).filter((x) => x !== g.question).join(" · ")) : null,
        bar("asked", (g.count || 0) / maxGap, String(g.count || 0), "bad")),
      el("button.add-doc", { type: "button", on: { click: () => ctx.go("knowledge", { gap: g.question }) } }, "Add the missing doc →")))
      : el("p.muted", "No unanswered question yet.")));

  const hand = card("Handoffs");
  root.append(hand);
  try {
    const { handoffs } = await api(`/v1/agents/${enc(ctx.agent)}/handoffs`);
    if (!(handoffs || []).length) hand.append(el("p.muted", "No handoff yet."));
    for (const h of handoffs || []) hand.append(handoffView(ctx, h));
  } catch (e) { hand.append(errorBox(e, "Handoffs")); }
  return root;
}

/** The share of a stage's conversations resolved without a handoff (0..1). */
export function resolvedRate(a) {
  if (Number.isFinite(a.resolved_rate)) return a.resolved_rate;
  const c = a.conversations || 0;
  return c ? Math.min(1, (a.resolved_without_handoff || 0) / c) : 0;
}

function funnel(rows, leak) {
  const max = Math.max(1, ...rows.map((r) => r.n));
  const W = 420, rowH = 44, H = rows.length * rowH;
  const svg = el("svg.funnel", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": "conversations per stage" });
  rows.forEach((r, i) => {
    const w = Math.max(6, (r.n / max) * (W - 150));
    const x = (W - 150 - w) / 2;
    const y = i * rowH + 4;
    const info = STAGE_INFO[r.s];
    svg.append(el("rect", { x, y, width: w, height: rowH - 10, rx: 6, fill: info.color, opacity: leak && leak !== r.s ? 0.75 : 1, stroke: leak === r.s ? "#e03131" : "none", "stroke-width": 3 },
      el("title", `${info.label}: ${r.n}`)));
    svg.append(el("text.out", { x: W - 140, y: y + (rowH - 10) / 2 + 4 }, `${info.label} · ${r.n}`));
  });
  return svg;
}

function handoffView(ctx, h) {
  const msg = el("div");
  const reply = el("input.grow", { placeholder: "Reply to the visitor…", "aria-label": "reply" });
  const line = (m) => el("div.hmsg", { dataset: { role: m.role || "" } }, el("b", ({ user: "visitor", assistant: "agent", human: "team" }[m.role] || m.role || "") + ": "), m.text || "");
  const conversation = el("div.small.handoff-conversation", { "aria-label": "conversation" }, (h.messages || []).map(line));
  const post = async (path, body, label) => {
    try {
      await api(`/v1/agents/${enc(ctx.agent)}/handoffs/${enc(h.id)}/${path}`, { method: "POST", body });
      msg.replaceChildren(notice(label, "info"));
      if (path === "reply") { conversation.append(line({ role: "human", text: body.message })); reply.value = ""; }
    }
    catch (e) { msg.replaceChildren(errorBox(e, label)); }
  };
  return el("div.job.handoff", { dataset: { handoff: h.id } },
    el("div.row", el("b", h.reason || "handoff"), el("span.pill" + (h.status === "resolved" ? ".ok" : ".bad"), h.status || "open"), el("span.muted.small.mono", h.contact_id || "")),
    h.summary ? el("p.small", h.summary) : null,
    // The conversation as it stands (what an anonymous visitor asked, the agent's answers, replies sent).
    conversation,
    h.transcript && h.transcript.length ? el("details", el("summary.muted.small", "transcript"),
      typeof h.transcript === "string" ? el("pre.small", h.transcript)
        : el("div.small", [].concat(h.transcript).map((m) => el("div", el("b", (m.role || "") + ": "), m.text || "")))) : null,
    h.status !== "resolved" ? el("div.row", reply,
      el("button.small", { type: "button", on: { click: () => post("reply", { message: reply.value }, "Reply sent") } }, "Reply"),
      el("button.small", { type: "button", on: { click: () => post("resolve", { resolution: reply.value || "resolved" }, "Resolved") } }, "Resolve")) : null,
    msg);
}
