// The builder UI: a left nav, a hash router and the shared context (knowledge base and agent in use).
import { api, token, ApiError } from "./api.js";
import { el, errorBox } from "./ui.js";
import overview from "./screens/overview.js";
import knowledge from "./screens/knowledge.js";
import agent from "./screens/agent.js";
import playground from "./screens/playground.js";
import publish from "./screens/publish.js";
import audit from "./screens/audit.js";
import leads from "./screens/leads.js";

const SCREENS = {
  overview: { title: "Overview", render: overview },
  knowledge: { title: "Knowledge", render: knowledge },
  agent: { title: "Agent builder", render: agent },
  playground: { title: "Playground", render: playground },
  publish: { title: "Publish", render: publish },
  audit: { title: "Audit", render: audit },
  leads: { title: "Leads", render: leads },
};

const $ = (id) => document.getElementById(id);

/** Shared state handed to every screen. */
export const ctx = {
  kbs: [],
  agents: [],
  agentsAvailable: true,
  kb: localStorage.getItem("throughline.kb") || "",
  agent: localStorage.getItem("throughline.agent") || "",
  params: new URLSearchParams(),
  go(screen, params) {
    const q = params ? "?" + new URLSearchParams(params).toString() : "";
    const hash = "#/" + screen + q;
    // Going to the screen already shown renders it again (no hashchange fires for the same hash): a
    // new knowledge base or agent must show up at once.
    if (location.hash === hash) route(); else location.hash = hash;
  },
  setKb(name) { ctx.kb = name; localStorage.setItem("throughline.kb", name); fillSelects(); },
  setAgent(name) { ctx.agent = name; localStorage.setItem("throughline.agent", name); fillSelects(); },
  async refresh() {
    try {
      ctx.kbs = (await api("/v1/kbs")).kbs || [];
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) { askToken("That token was refused."); throw e; }
      ctx.kbs = [];
    }
    try {
      ctx.agents = (await api("/v1/agents")).agents || [];
      ctx.agentsAvailable = true;
    } catch (e) {
      ctx.agents = [];
      ctx.agentsAvailable = !(e && e.unavailable);
    }
    if (!ctx.kbs.some((k) => k.name === ctx.kb)) ctx.kb = (ctx.kbs.find((k) => k.name === "sample") || ctx.kbs[0] || {}).name || "";
    if (!ctx.agents.some((a) => a.name === ctx.agent)) ctx.agent = (ctx.agents.find((a) => a.name === "demo") || ctx.agents[0] || {}).name || "";
    fillSelects();
  },
};

function fillSelects() {
  const kbSel = $("ctx-kb");
  kbSel.replaceChildren(...ctx.kbs.map((k) => el("option", { value: k.name }, k.name)));
  if (!ctx.kbs.length) kbSel.append(el("option", { value: "" }, "none yet"));
  kbSel.value = ctx.kb;
  const agSel = $("ctx-agent");
  agSel.replaceChildren(...ctx.agents.map((a) => el("option", { value: a.name }, a.name)));
  if (!ctx.agents.length) agSel.append(el("option", { value: "" }, ctx.agentsAvailable ? "none yet" : "n/a"));
  agSel.value = ctx.agent;
}

let renderSeq = 0;
async function route() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [name, query] = hash.split("?");
  const id = SCREENS[name] ? name : "overview";
  ctx.params = new URLSearchParams(query || "");
  const screen = SCREENS[id];
  $("title").textContent = screen.title;
  document.title = screen.title + " · Throughline";
  for (const a of document.querySelectorAll("#nav a[data-screen]")) {
    if (a.dataset.screen === id) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const root = $("screen");
  root.dataset.screen = id;
  root.dataset.ready = "0";
  // Streams opened by the previous screen (job progress) end with it: browsers allow only a few
  // connections per host.
  if (ctx.aborter) ctx.aborter.abort();
  ctx.aborter = new AbortController();
  ctx.signal = ctx.aborter.signal;
  const seq = ++renderSeq;
  root.replaceChildren(el("p.muted.loading", "Loading…"));
  try {
    const node = await screen.render(ctx);
    if (seq !== renderSeq) return;
    root.replaceChildren(node);
  } catch (e) {
    if (seq !== renderSeq) return;
    root.replaceChildren(errorBox(e, screen.title));
  }
  root.dataset.ready = "1";
}

function askToken(message) {
  const dlg = $("login");
  $("login-error").textContent = message || "";
  $("login-token").value = "";
  if (!dlg.open) dlg.showModal();
}

async function checkToken(t) {
  const res = await fetch("/v1/kbs", { headers: { Authorization: "Bearer " + t } });
  return res.ok;
}

async function start() {
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const t = $("login-token").value.trim();
    if (!t) return;
    if (!(await checkToken(t))) { $("login-error").textContent = "That token was refused by the server."; return; }
    token.set(t);
    $("login").close();
    await ctx.refresh().catch(() => {});
    route();
  });
  $("login").addEventListener("cancel", (ev) => ev.preventDefault());
  $("signout").addEventListener("click", () => { token.clear(); askToken(); });
  $("ctx-kb").addEventListener("change", (e) => { ctx.setKb(e.target.value); route(); });
  $("ctx-agent").addEventListener("change", (e) => { ctx.setAgent(e.target.value); route(); });
  window.addEventListener("hashchange", route);
  if (!token.get() || !(await checkToken(token.get()))) { askToken(token.get() ? "The stored token was refused." : ""); return; }
  await ctx.refresh().catch(() => {});
  route();
}

start();
