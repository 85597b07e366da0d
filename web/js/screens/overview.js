// Overview: the knowledge at a glance, the four stages with their audit numbers, the way into the playground.
import { api, enc } from "../api.js";
import { el, card, bar, errorBox, notice, fmtPct, fmtMs, STAGES, STAGE_INFO } from "../ui.js";
import { resolvedRate } from "./audit.js";

export default async function overview(ctx) {
  const root = el("div.stack");
  // Counts change with every job and chat: read them fresh.
  await ctx.refresh().catch(() => {});
  const kbs = ctx.kbs;
  // The agent's card counts what belongs to the agent: its knowledge bases, their documents and
  // chunks, its contacts and leads. Server-wide totals are a separate, labelled line.
  const agentInfo = ctx.agent ? ctx.agents.find((a) => a.name === ctx.agent) : null;
  const agentKbs = agentInfo ? kbs.filter((k) => (agentInfo.kbs || []).includes(k.name)) : kbs;
  const docs = agentKbs.reduce((s, k) => s + (k.documents || 0), 0);
  const chunks = agentKbs.reduce((s, k) => s + (k.chunks || 0), 0);
  let audit = null, auditErr = null;
  if (ctx.agent) {
    try { audit = await api(`/v1/agents/${enc(ctx.agent)}/audit`); } catch (e) { auditErr = e; }
  }
  const stat = (id, value, label) => el("div", { dataset: { kpi: id } }, el("div.stat", String(value)), el("div.statlabel", label));
  const serverKbs = kbs.length, serverDocs = kbs.reduce((s, k) => s + (k.documents || 0), 0);

  const hero = card(null,
    el("div.row",
      el("div.grow",
        el("h2", ctx.agent ? `Agent “${ctx.agent}”` : "Your customer agent"),
        el("div.kpis#agent-kpis",
          stat("kbs", agentKbs.length, agentInfo ? `knowledge base${agentKbs.length === 1 ? "" : "s"} of this agent` : "knowledge bases"),
          stat("documents", docs, "documents"),
          stat("chunks", chunks, "chunks indexed"),
          agentInfo ? stat("contacts", audit ? audit.contacts ?? 0 : "–", "contacts") : null,
          agentInfo ? stat("leads", audit ? audit.leads ?? 0 : "–", "leads") : null),
        el("div.muted.small#server-totals",
          `Server: ${serverKbs} knowledge base${serverKbs === 1 ? "" : "s"}, ${serverDocs} documents, ${ctx.agentsAvailable ? ctx.agents.length : "–"} agent${ctx.agents.length === 1 ? "" : "s"}.`)),
      el("div.row",
        el("button.primary#open-playground", { type: "button", on: { click: () => ctx.go("playground") } }, "Open the playground →"),
        el("button", { type: "button", on: { click: () => ctx.go("knowledge") } }, "Add knowledge"))));
  root.append(hero);

  // Knowledge at a glance: page types of the knowledge base in use.
  const know = card("Knowledge at a glance");
  root.append(know);
  if (!kbs.length) {
    know.append(notice("No knowledge base yet. Upload docs or a zip of your help center on the Knowledge screen.", "info"));
  } else {
    const kb = ctx.kb || kbs[0].name;
    try {
      const info = await api(`/v1/kbs/${enc(kb)}`);
      const types = Object.entries(info.page_types || {}).sort((a, b) => b[1] - a[1]);
      const max = Math.max(1, ...types.map((t) => t[1]));
      know.append(el("p.muted", `${kb}: ${info.documents ?? "?"} documents, ${info.chunks ?? "?"} chunks, ${(info.sources || []).length} source(s).`));
      know.append(el("div", types.map(([t, n]) => bar(t, n / max, String(n)))));
    } catch (e) { know.append(errorBox(e, "Knowledge base")); }
    // Answers that quoted a page which has changed since: worth a follow-up.
    try {
      const stale = await api(`/v1/kbs/${enc(kb)}/stale-answers`);
      if (stale.answers > 0) {
        know.append(el("div.notice.warn#stale-notice",
          `${stale.answers} earlier answer${stale.answers === 1 ? "" : "s"} in ${stale.conversations} conversation${stale.conversations === 1 ? "" : "s"} quote${stale.answers === 1 ? "s" : ""} text that changed on ${stale.pages.length} page${stale.pages.length === 1 ? "" : "s"}. `,
          el("a", { href: "#/knowledge" }, "See which")));
      }
    } catch { /* an older server without the route: nothing to show */ }
  }

  // The four stages with their audit numbers.
  const stagesWrap = el("div.grid.cols-4");
  root.append(el("div", el("h3", "The four stages"), stagesWrap));
  for (const s of STAGES) {
    const info = STAGE_INFO[s];
    const a = audit && audit.stages ? audit.stages[s] || {} : null;
    const c = el("section.card.stage-card", { style: { "--c": info.color }, dataset: { stage: s } },
      el("h2", info.label), el("div.muted.small", info.hint));
    if (audit && audit.leaking_stage === s) c.classList.add("leak");
    if (a) {
      c.append(el("div.stat", String(a.conversations ?? 0)), el("div.statlabel", "conversations"),
        el("div.kv",
          el("span", "resolved w/o handoff"), el("span", fmtPct(resolvedRate(a))),
          el("span", "handoff rate"), el("span", fmtPct(a.handoff_rate)),
          el("span", "“I don't know”"), el("span", fmtPct(a.idk_rate)),
          el("span", "median response"), el("span", fmtMs(a.median_response_ms))));
      if (audit.leaking_stage === s) c.append(el("p.small", { style: { color: "var(--bad)" } }, "Leaks most"));
    } else {
      c.append(el("div.stat", "–"), el("div.statlabel", "no audit numbers yet"));
    }
    stagesWrap.append(c);
  }
  if (auditErr) root.append(errorBox(auditErr, "Audit numbers"));
  else if (!ctx.agent) root.append(notice(ctx.agentsAvailable ? "No agent yet: create one in the Agent builder." : "Agents are not available on this server yet.", "unavailable"));
  return root;
}
