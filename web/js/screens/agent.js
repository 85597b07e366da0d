// Agent builder: persona and tone, per-stage settings, the plan catalogue, versions and their diff.
import { api, enc } from "../api.js";
import { el, card, errorBox, notice, STAGES, STAGE_INFO, fmtDate } from "../ui.js";

const TOP_FIELDS = ["product", "company_description", "persona", "tone", "confidence_threshold"];
const LONG = new Set(["persona", "company_description", "summary", "description"]);

export default async function agentScreen(ctx) {
  const root = el("div.stack");
  if (!ctx.agentsAvailable) {
    root.append(notice("Agents are not available on this server yet (GET /v1/agents does not exist). Knowledge and Search work already.", "unavailable"));
    return root;
  }
  if (ctx.params.get("deleted")) root.append(notice(`Agent “${ctx.params.get("deleted")}” deleted.`, "info"));
  root.append(createCard(ctx));
  if (!ctx.agent) return root;
  let agent;
  try { agent = await api(`/v1/agents/${enc(ctx.agent)}`); } catch (e) { root.append(errorBox(e, "Agent")); return root; }
  const config = structuredClone(agent.config || {});
  // Saves go to the agent this screen shows, never to whatever the context names later.
  const name = agent.name || ctx.agent;
  const saveMsg = el("div");
  const save = async (body) => {
    saveMsg.replaceChildren(notice("Saving…", "info"));
    try {
      const r = await api(`/v1/agents/${enc(name)}`, { method: "PUT", body });
      await ctx.refresh();
      ctx.go("agent", { saved: String(r.version ?? "?") });
    } catch (e) { saveMsg.replaceChildren(errorBox(e, "Save")); }
  };

  const head = card(null, el("div.row",
    el("div.grow", el("h2", { style: { margin: 0 } }, `${agent.name} · version ${agent.version ?? "?"}`),
      el("div.muted.small", `knowledge: ${(config.knowledge_bases || agent.kbs || []).join(", ") || "–"} · ${agent.published ? "published" : "not published"}`)),
    el("button.primary#save-agent", { type: "button", on: { click: () => save({ config, base_version: agent.version }) } }, "Save as new version"),
    el("button.danger#delete-agent", { type: "button", on: { click: async () => {
      if (!confirm(`Delete the agent “${name}”? Every version, its publication (the widget stops answering) and its contacts' memory are deleted. This cannot be undone.`)) return;
      try {
        await api(`/v1/agents/${enc(name)}`, { method: "DELETE" });
        await ctx.refresh();
        ctx.go("agent", { deleted: name });
      } catch (e) { saveMsg.replaceChildren(errorBox(e, "Delete")); }
    } } }, "Delete agent")), saveMsg);
  root.append(head);
  if (ctx.params.get("saved")) saveMsg.append(notice(`Saved as version ${ctx.params.get("saved")}.`, "info"));

  const persona = card("Persona and tone");
  for (const k of TOP_FIELDS) if (k in config || k !== "confidence_threshold") persona.append(field(config, k));
  root.append(persona);

  const stages = card("Stages");
  for (const s of STAGES) {
    const info = STAGE_INFO[s];
    if (!config[s] || typeof config[s] !== "object") config[s] = config[s] || {};
    const d = el("details.stage", { style: { "--c": info.color }, open: s === "acquisition" },
      el("summary", `${info.label} `, el("span.muted.small", `— ${info.hint}`)), objectEditor(config[s]));
    stages.append(d);
  }
  const others = Object.keys(config).filter((k) => !TOP_FIELDS.includes(k) && !STAGES.includes(k) && k !== "router");
  if (others.length) {
    stages.append(el("details.stage", el("summary", "Other settings"), objectEditor(config, others)));
  }
  root.append(stages);
  root.append(routerCard(config));

  // Plans extracted from the pricing pages, for review.
  const kb = (config.knowledge_bases || agent.kbs || [])[0] || ctx.kb;
  const plansCard = card(`Plan catalogue${kb ? ` (extracted from “${kb}”)` : ""}`);
  root.append(plansCard);
  if (kb) {
    try {
      const cat = await api(`/v1/kbs/${enc(kb)}/plans`);
      const holder = { plans: (cat.plans || []).map(({ display, ...p }) => ({ ...p, prices: (p.prices || []).map(({ display, ...x }) => x) })) };
      const msg = el("div");
      const saved = (r) => {
        const n = (r.agents_updated || []).map((a) => `${a.name} v${a.version}`);
        msg.replaceChildren(notice(n.length ? `Plans saved. New versions quoting them: ${n.join(", ")}.` : "Plans saved.", "info"));
        // The plan edit made a new version of this agent: take its plans and version, so "Save as new
        // version" builds on it instead of writing the old plans back.
        if ((r.agents_updated || []).some((a) => a.name === name)) {
          api(`/v1/agents/${enc(name)}`).then((fresh) => {
            config.expansion = (fresh.config || {}).expansion || config.expansion;
            agent.version = fresh.version;
          }).catch(() => {});
        }
      };
      plansCard.append(el("p.muted.small", cat.edited
          ? `You edited this catalogue (${fmtDate(cat.edited_at)}); re-ingesting the pricing pages no longer changes it.`
          : "Review the pricing the agent quotes: it was extracted from your pricing page. Fix anything wrong and save; agents over this knowledge base get a new version quoting your edit."),
        el("div.grid.cols-4#plans", { style: { marginBottom: "12px" } }, (cat.plans || []).map(planCard)),
        objectEditor(holder),
        el("div.row",
          el("button#save-plans", { type: "button", on: { click: async () => {
            try { saved(await api(`/v1/kbs/${enc(kb)}/plans`, { method: "PUT", body: { plans: holder.plans } })); }
            catch (e) { msg.replaceChildren(errorBox(e, "Plans")); }
          } } }, "Save plans"),
          cat.edited ? el("button.small#revert-plans", { type: "button", on: { click: async () => {
            try { await api(`/v1/kbs/${enc(kb)}/plans`, { method: "DELETE" }); msg.replaceChildren(notice("Back to the extracted plans.", "info")); }
            catch (e) { msg.replaceChildren(errorBox(e, "Plans")); }
          } } }, "Use extracted plans") : null),
        msg);
    } catch (e) { plansCard.append(errorBox(e, "Plans")); }
  }

  // Raw config.
  if (agent.config_toml !== undefined) {
    const ta = el("textarea.mono#config-toml", { rows: 14, value: agent.config_toml, "aria-label": "config TOML" });
    root.append(card("Configuration as TOML", el("p.muted.small", "The same configuration as a file: edit and save as a new version."), ta,
      el("button", { type: "button", on: { click: () => save({ config_toml: ta.value }) } }, "Save TOML as new version")));
  }

  root.append(await versionsCard(ctx));
  return root;
}

// "Teach the router": example messages per stage, one per line, on top of the built-in bank.
function routerCard(config) {
  config.router = config.router || {};
  const box = card("Teach the router",
    el("p.muted.small", "The stage of each message is decided by comparing it with hundreds of built-in example messages. " +
      "Add messages your customers send that land in the wrong stage, one per line, under the stage they belong to; " +
      "they count a little more than the built-in examples. Saved with “Save as new version”; the playground trace shows the score of every stage."));
  const grid = el("div.grid.cols-2");
  for (const s of STAGES) {
    const info = STAGE_INFO[s];
    const area = el(`textarea#router-${s}`, { rows: 4, placeholder: `e.g. ${info.hint}`, "aria-label": `${info.label} examples`,
      on: { input: (ev) => {
        const lines = ev.target.value.split("\n").map((l) => l.trim()).filter(Boolean);
        if (lines.length) config.router[s] = lines; else delete config.router[s];
      } } });
    area.value = (config.router[s] || []).join("\n");
    grid.append(el("label.stack", el("span", { style: { color: info.color, fontWeight: 600 } }, info.label), area));
  }
  box.append(grid);
  return box;
}

function createCard(ctx) {
  const name = el("input.grow", { placeholder: "agent name, e.g. acme-support", "aria-label": "agent name" });
  const kb = el("select", { "aria-label": "knowledge base" }, ctx.kbs.map((k) => el("option", { value: k.name }, k.name)));
  kb.value = ctx.kb;
  const msg = el("div");
  const form = el("form.row", { on: { submit: async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("/v1/agents", { method: "POST", body: { name: name.value.trim(), kb: kb.value } });
      await ctx.refresh(); ctx.setAgent(r.name || name.value.trim()); ctx.go("agent");
    } catch (e) { msg.replaceChildren(errorBox(e, "Create agent")); }
  } } }, name, kb, el("button", { type: "submit" }, "Create agent"));
  const c = card(ctx.agent ? null : "Create an agent", ctx.agent ? el("details", el("summary.muted", "Create another agent"), form, msg) : [el("p.muted", "The defaults (plans, onboarding steps) are derived from the knowledge base."), form, msg]);
  return c;
}

async function versionsCard(ctx) {
  const c = card("Versions");
  try {
    const { versions } = await api(`/v1/agents/${enc(ctx.agent)}/versions`);
    const vs = (versions || []).slice().sort((a, b) => b.version - a.version);
    if (vs.length < 1) { c.append(el("p.muted", "No version yet.")); return c; }
    const a = el("select#diff-a", { "aria-label": "older version" }, vs.map((v) => el("option", { value: v.version }, `v${v.version} · ${fmtDate(v.created_at)}`)));
    const b = el("select#diff-b", { "aria-label": "newer version" }, vs.map((v) => el("option", { value: v.version }, `v${v.version} · ${fmtDate(v.created_at)}`)));
    a.value = String((vs[1] || vs[0]).version); b.value = String(vs[0].version);
    const out = el("div.diff#diff");
    const show = async () => {
      try {
        const [x, y] = await Promise.all([a.value, b.value].map((n) => api(`/v1/agents/${enc(ctx.agent)}/versions/${enc(n)}`)));
        out.replaceChildren(...diffLines(text(x), text(y)));
      } catch (e) { out.replaceChildren(errorBox(e, "Diff")); }
    };
    a.onchange = b.onchange = show;
    c.append(el("div.row", "Compare", a, "with", b), out);
    show();
  } catch (e) { c.append(errorBox(e, "Versions")); }
  return c;
}

function text(v) { return v.config_toml !== undefined ? v.config_toml : JSON.stringify(v.config || v, null, 2); }

/** A line diff (longest common subsequence), rendered as +/- lines with a little context. */
export function diffLines(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  const n = x.length, m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const ops = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { ops.push([" ", x[i]]); i++; j++; }
    else if (j < m && (i >= n || L[i][j + 1] >= L[i + 1][j])) { ops.push(["+", y[j]]); j++; }
    else { ops.push(["-", x[i]]); i++; }
  }
  if (!ops.some((o) => o[0] !== " ")) return [el("div.muted", "No difference.")];
  const keep = ops.map((o, k) => o[0] !== " " || ops.slice(Math.max(0, k - 2), k + 3).some((p) => p[0] !== " "));
  const out = [];
  let skipped = false;
  ops.forEach((o, k) => {
    if (!keep[k]) { if (!skipped) out.push(el("div.muted", "…")); skipped = true; return; }
    skipped = false;
    out.push(el("div" + (o[0] === "+" ? ".add" : o[0] === "-" ? ".del" : ""), `${o[0]} ${o[1]}`));
  });
  return out;
}

function money(amount, currency) {
  const sym = { USD: "$", EUR: "€", GBP: "£" }[String(currency || "").toUpperCase()];
  return sym ? sym + amount : `${amount} ${currency || ""}`.trim();
}

/** One plan as extracted from the pricing page: price, limits, features. */
function planCard(p) {
  const price = (p.prices || [])[0] || (p.price !== undefined ? { amount: p.price, currency: p.currency, period: p.period } : null);
  const limits = Array.isArray(p.limits) ? p.limits : Object.entries(p.limits || {}).map(([name, value]) => ({ name, value }));
  return el("div.card.plan", { style: { margin: 0 } },
    el("b", p.name || "plan"),
    el("div.stat", price && price.amount !== null && price.amount !== undefined ? money(price.amount, price.currency) : "contact sales"),
    el("div.muted.small", price && price.period ? "per " + price.period : ""),
    limits.length ? el("ul.small", { style: { paddingLeft: "18px", margin: "8px 0 0" } }, limits.slice(0, 4).map((l) => el("li", `${l.name}: ${l.value}`))) : null,
    (p.features || []).length ? el("div.muted.small", `${p.features.length} features`) : null,
    p.source_path ? el("div.muted.small.mono", p.source_path) : null);
}

function label(k) { return k.replace(/_/g, " "); }

function field(obj, k) {
  const v = obj[k];
  if (typeof v === "boolean") {
    return el("label.field", el("span", el("input", { type: "checkbox", checked: v, on: { change: (e) => { obj[k] = e.target.checked; } } }), " ", label(k)));
  }
  if (typeof v === "number") {
    return el("label.field", label(k), el("input", { type: "number", step: "any", value: String(Number.isInteger(v) ? v : +v.toPrecision(6)), on: { input: (e) => { obj[k] = e.target.value === "" ? null : Number(e.target.value); } } }));
  }
  if (Array.isArray(v)) {
    if (!v.length) {
      return el("label.field", `${label(k)} (JSON list, empty)`, el("textarea.mono", { rows: 2, value: "[]", on: { input: (e) => {
        try { obj[k] = JSON.parse(e.target.value || "[]"); e.target.style.borderColor = ""; } catch { e.target.style.borderColor = "var(--bad)"; }
      } } }));
    }
    if (v.every((x) => x === null || typeof x !== "object")) {
      return el("label.field", `${label(k)} (one per line)`, el("textarea", { rows: Math.min(6, Math.max(2, v.length + 1)), value: v.join("\n"),
        on: { input: (e) => { obj[k] = e.target.value.split("\n").map((s) => s.trim()).filter(Boolean); } } }));
    }
    return el("div.field", el("div.muted.small", label(k)), arrayTable(v));
  }
  if (v && typeof v === "object") {
    return el("fieldset", { style: { border: "1px solid var(--line)", borderRadius: "8px", marginBottom: "10px" } }, el("legend.muted.small", label(k)), objectEditor(v));
  }
  const long = LONG.has(k) || (typeof v === "string" && v.length > 60);
  const input = long ? el("textarea", { rows: 3, value: v ?? "" }) : el("input", { value: v ?? "", placeholder: v === null ? "(not set)" : null });
  // An unset optional value stays unset (null) while its field is empty.
  input.addEventListener("input", () => { obj[k] = input.value === "" && (v === null || v === undefined) ? v ?? null : input.value; });
  return el("label.field", label(k), input);
}

/** Edits an object in place: every key gets a fitting control. */
export function objectEditor(obj, keys) {
  const ks = keys || Object.keys(obj);
  if (!ks.length) return el("p.muted.small", "Nothing to set for this stage in this configuration.");
  return el("div", ks.map((k) => field(obj, k)));
}

function arrayTable(arr) {
  const FIRST = ["name", "key", "id", "event", "label", "title", "question"];
  const cols = [...new Set(arr.flatMap((o) => Object.keys(o || {})))]
    .sort((a, b) => (FIRST.includes(a) ? FIRST.indexOf(a) : 99) - (FIRST.includes(b) ? FIRST.indexOf(b) : 99));
  const body = el("tbody");
  const draw = () => body.replaceChildren(...arr.map((row, idx) => el("tr",
    cols.map((c) => {
      const v = row[c];
      const isObj = v !== null && typeof v === "object";
      const input = el("input", { value: isObj ? JSON.stringify(v) : v ?? "", "aria-label": c, class: isObj ? "mono" : null });
      input.addEventListener("input", () => {
        if (isObj) { try { row[c] = JSON.parse(input.value); input.style.borderColor = ""; } catch { input.style.borderColor = "var(--bad)"; } }
        else if (typeof v === "number") row[c] = input.value === "" ? null : Number(input.value);
        else row[c] = input.value;
      });
      return el("td", input);
    }),
    el("td", el("button.small.danger", { type: "button", title: "remove", on: { click: () => { arr.splice(idx, 1); draw(); } } }, "×")))));
  draw();
  return el("div.tablewrap", el("table.objtable", el("thead", el("tr", cols.map((c) => el("th", label(c))), el("th"))), body),
    el("button.small", { type: "button", on: { click: () => { arr.push(Object.fromEntries(cols.map((c) => [c, ""]))); draw(); } } }, "+ add"));
}
