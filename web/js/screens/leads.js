// Leads: prospects who left a way to follow up, with what they told the agent, their conversation and
// a CSV export.
import { api, enc } from "../api.js";
import { el, card, errorBox, notice, fmtDate } from "../ui.js";

export default async function leads(ctx) {
  const root = el("div.stack");
  if (!ctx.agentsAvailable || !ctx.agent) {
    root.append(notice(ctx.agentsAvailable ? "No agent yet: create one in the Agent builder." : "Leads are not available on this server yet (no /v1/agents).", "unavailable"));
    return root;
  }
  let list;
  try { list = (await api(`/v1/agents/${enc(ctx.agent)}/leads`)).leads || []; }
  catch (e) { root.append(errorBox(e, "Leads")); return root; }
  const keys = factKeys(list);
  const conversation = el("div#lead-conversation");
  const exportButton = el("button#export-leads", { type: "button", disabled: !list.length, on: { click: () => download(ctx.agent, list, keys) } }, "Export CSV");
  const table = list.length ? el("div.tablewrap", el("table#leads",
    el("thead", el("tr", el("th", "Contact"), ...keys.map((k) => el("th", label(k))), el("th.hide-narrow", "Captured"), el("th", ""))),
    el("tbody", list.map((l) => el("tr", { dataset: { contact: l.contact_id } },
      el("td", el("div", l.email || l.contact_key || l.contact_id), el("div.muted.small.mono", l.contact_key && l.contact_key !== l.email ? l.contact_key : "")),
      ...keys.map((k) => el("td", fact(l, k) ?? "–")),
      el("td.hide-narrow.small", fmtDate(l.created_at)),
      el("td", el("button.small.open-conversation", { type: "button", on: { click: () => showConversation(ctx, l, conversation) } }, "Conversation")))))))
    : el("p.muted", "No lead yet. A prospect becomes a lead once they give an email and one more detail — a team size, a use case — in the chat (the agent asks for them after answering); what they say later is added to the lead.");
  root.append(card(`Leads of “${ctx.agent}”`,
    el("div.row", el("span.pill", `${list.length} lead${list.length === 1 ? "" : "s"}`), el("span.spacer"), exportButton),
    table), conversation);
  const wanted = ctx.params.get("contact");
  const lead = wanted && list.find((l) => l.contact_id === wanted);
  if (lead) await showConversation(ctx, lead, conversation);
  return root;
}

function fact(lead, key) {
  const f = (lead.facts || []).find((x) => x.key === key);
  return f ? f.value : null;
}

/** Fact keys in first-seen order, email first. */
function factKeys(list) {
  const keys = [];
  for (const l of list) for (const f of l.facts || []) if (!keys.includes(f.key)) keys.push(f.key);
  return keys.sort((a, b) => (a === "email" ? -1 : b === "email" ? 1 : 0));
}

function label(key) {
  return { email: "Email", company_size: "Team size", use_case: "Use case" }[key] || key.replace(/_/g, " ");
}

async function showConversation(ctx, lead, box) {
  box.replaceChildren(el("p.muted", "Loading the conversation…"));
  try {
    const m = await api(`/v1/agents/${enc(ctx.agent)}/contacts/${enc(lead.contact_id)}`);
    const convs = m.conversations || [];
    box.replaceChildren(card(`Conversation with ${lead.email || m.key}`,
      el("div.row.small", el("span.pill", m.lifecycle || "prospect"), ...(m.facts || []).map((f) => el("span.pill", `${label(f.key)}: ${f.value}`))),
      convs.length ? convs.map((c) => el("div.transcript", { dataset: { conversation: c.id } },
        el("div.muted.small.mono", `conversation ${c.id} · ${fmtDate(c.started_at)}`),
        (c.messages || []).map((x) => el("div.msg." + (x.role === "user" ? "user" : "assistant"), el("b", x.role === "user" ? "visitor: " : x.role + ": "), x.text))))
        : el("p.muted", "No conversation stored for this contact.")));
    box.scrollIntoView({ block: "nearest" });
  } catch (e) { box.replaceChildren(errorBox(e, "Conversation")); }
}

/** A CSV cell: quoted, and a leading =, +, - or @ defused so a spreadsheet does not run it as a formula. */
function cell(v) {
  let s = v === null || v === undefined ? "" : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return '"' + s.replace(/"/g, '""') + '"';
}

export function leadsCsv(list, keys) {
  const head = ["contact_id", "contact_key", ...keys, "conversation_id", "captured_at"];
  const rows = list.map((l) => [l.contact_id, l.contact_key, ...keys.map((k) => fact(l, k)), l.conversation_id,
    l.created_at ? new Date(l.created_at * 1000).toISOString() : ""]);
  return [head, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

function download(agent, list, keys) {
  const blob = new Blob([leadsCsv(list, keys)], { type: "text/csv;charset=utf-8" });
  const a = el("a", { href: URL.createObjectURL(blob), download: `leads-${agent}.csv` });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
