// Small DOM helpers. Server data only ever reaches the page through textContent and attributes set
// by these helpers: never innerHTML.

/** el("div.card#id", {attrs, on:{click}}, ...children) */
export function el(spec, props, ...children) {
  if (props instanceof Node || typeof props === "string" || typeof props === "number" || Array.isArray(props)) {
    children.unshift(props);
    props = null;
  }
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(spec) || [null, spec, ""];
  const isSvg = ["svg", "rect", "text", "path", "g", "line", "polygon", "title"].includes(m[1]);
  const e = isSvg ? document.createElementNS("http://www.w3.org/2000/svg", m[1]) : document.createElement(m[1] || "div");
  for (const part of (m[2] || "").match(/[.#][\w-]+/g) || []) {
    if (part[0] === ".") e.classList.add(part.slice(1));
    else e.id = part.slice(1);
  }
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === "style" && typeof v === "object") {
      for (const [sk, sv] of Object.entries(v)) {
        if (sk.startsWith("--")) e.style.setProperty(sk, sv); else e.style[sk] = sv;
      }
    }
    else if (k === "text") e.textContent = v;
    else if (k === "value") e.value = v;
    else if (k === "checked") e.checked = !!v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  append(e, children);
  return e;
}

function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A notice box; kind = info | warn | error | unavailable. */
export function notice(text, kind = "info") {
  return el("div.notice." + kind, { role: kind === "error" ? "alert" : "status" }, text);
}

/** Shows an error from the API (with a clear "not available yet" for endpoints that do not exist). */
export function errorBox(e, what) {
  if (e && e.unavailable) {
    return notice(`${what ? what + ": " : ""}not available on this server yet. ${e.message}`, "unavailable");
  }
  return notice(`${what ? what + " failed: " : ""}${e && e.message ? e.message : e}`, "error");
}

/** A horizontal bar (0..1) with a label and a value. */
export function bar(label, frac, valueText, cls = "") {
  const f = Math.max(0, Math.min(1, Number.isFinite(frac) ? frac : 0));
  return el("div.barrow" + (cls ? "." + cls : ""),
    el("span.barlabel", label),
    el("span.bartrack", el("span.barfill", { style: { width: (f * 100).toFixed(1) + "%" } })),
    el("span.barvalue", valueText));
}

export function fmtPct(x) {
  return Number.isFinite(x) ? (x * 100).toFixed(x < 0.1 && x > 0 ? 1 : 0) + "%" : "–";
}
export function fmtMs(x) {
  if (!Number.isFinite(x)) return "–";
  return x >= 1000 ? (x / 1000).toFixed(1) + " s" : Math.round(x) + " ms";
}
export function fmtDate(x) {
  if (!x) return "–";
  const d = typeof x === "number" ? new Date(x < 1e12 ? x * 1000 : x) : new Date(x);
  return isNaN(d) ? String(x) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
export function fmtBytes(n) {
  if (!Number.isFinite(n)) return "–";
  if (n < 1024) return n + " B";
  if (n < 1 << 20) return (n / 1024).toFixed(1) + " KB";
  return (n / (1 << 20)).toFixed(1) + " MB";
}

/** Only http(s) URLs may become links. */
export function safeUrl(u) {
  if (typeof u !== "string" || !/^https?:\/\//i.test(u.trim())) return null; // absolute http(s) only
  try {
    const url = new URL(u.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch { return null; }
}

export function card(title, ...children) {
  return el("section.card", title ? el("h2", title) : null, ...children);
}

/** Tabs: [{id, label, render:() => Node}] */
export function tabs(items, initial) {
  const bodyEl = el("div.tabbody");
  const buttons = items.map((t) => el("button.tab", {
    type: "button", role: "tab", dataset: { tab: t.id },
    on: { click: () => show(t.id) },
  }, t.label));
  function show(id) {
    for (const b of buttons) b.setAttribute("aria-selected", String(b.dataset.tab === id));
    const t = items.find((x) => x.id === id);
    bodyEl.replaceChildren(t.render());
  }
  const root = el("div.tabs", el("div.tablist", { role: "tablist" }, buttons), bodyEl);
  show(initial || items[0].id);
  root.show = show;
  return root;
}

export const STAGES = ["acquisition", "activation", "support", "expansion"];
export const STAGE_INFO = {
  acquisition: { label: "Acquisition", hint: "prospects: what is it, how much", color: "#4263eb" },
  activation: { label: "Activation", hint: "new users: setting it up", color: "#0ca678" },
  support: { label: "Support", hint: "customers: why isn't this working", color: "#f08c00" },
  expansion: { label: "Expansion", hint: "usage caps: what the next plan adds", color: "#ae3ec9" },
};

/** Puts a text with [n] citation markers into `parent`, turning markers into buttons via `cite(n)`. */
export function textWithCitations(parent, text, citations, onCite) {
  const nums = new Set((citations || []).map((c) => Number(c.n)));
  const parts = String(text || "").split(/(\[\d+\])/);
  for (const p of parts) {
    const m = /^\[(\d+)\]$/.exec(p);
    if (m && nums.has(Number(m[1]))) {
      parent.append(el("button.cite", { type: "button", title: "open source " + m[1], on: { click: () => onCite(Number(m[1])) } }, m[1]));
    } else if (p) parent.append(document.createTextNode(p));
  }
}
