// Knowledge: create a knowledge base, upload files/folders/zips or a site URL, live job progress, documents.
import { api, stream, readSSE, enc } from "../api.js";
import { el, card, bar, errorBox, notice, fmtDate, fmtBytes } from "../ui.js";

const INGEST_STAGES = ["discover", "extract", "chunk", "embed", "index"];
const STAGE_ORDER = ["discover", "fetch", "extract", "chunk", "embed", "index"];
const FINAL = new Set(["succeeded", "failed", "cancelled"]);
/** What a stage counts, for stages that report no total up front. */
const STAGE_UNITS = { embed: "chunks" };

export default async function knowledge(ctx) {
  const root = el("div.stack");
  const gap = ctx.params.get("gap");
  if (gap) {
    root.append(notice(`Knowledge gap: visitors asked “${gap}” and the agent could not answer. Upload the page that answers it below; the agent uses it as soon as the job finishes.`, "warn"));
  }

  // --- knowledge bases
  const kbList = el("div");
  const createForm = el("form.row", { on: { submit: async (ev) => {
    ev.preventDefault();
    const name = createForm.querySelector("input").value.trim();
    if (!name) return;
    try {
      await api("/v1/kbs", { method: "POST", body: { name } });
      await ctx.refresh(); ctx.setKb(name); ctx.go("knowledge");
    } catch (e) { createMsg.replaceChildren(errorBox(e, "Create")); }
  } } },
  el("input.grow#new-kb", { placeholder: "new knowledge base name, e.g. acme", "aria-label": "new knowledge base name", pattern: "[A-Za-z0-9_\\-]+", title: "letters, digits, - and _" }),
  el("button.primary", { type: "submit" }, "Create"));
  const createMsg = el("div");
  kbList.append(el("table", el("thead", el("tr", el("th", "Name"), el("th.num", "Documents"), el("th.num", "Chunks"), el("th", ""))),
    el("tbody", ctx.kbs.map((k) => el("tr", { dataset: { kb: k.name } },
      el("td", k.name === ctx.kb ? el("b", k.name) : k.name),
      el("td.num", String(k.documents ?? "–")), el("td.num", String(k.chunks ?? "–")),
      el("td", el("div.row",
        k.name === ctx.kb ? el("span.pill.run", "in use") : el("button.small", { type: "button", on: { click: () => { ctx.setKb(k.name); ctx.go("knowledge"); } } }, "Use"),
        el("button.small.danger", { type: "button", title: `delete ${k.name}`, on: { click: async () => {
          if (!confirm(`Delete the knowledge base “${k.name}” with all its documents and indexes?`)) return;
          try { await api(`/v1/kbs/${enc(k.name)}`, { method: "DELETE" }); await ctx.refresh(); ctx.go("knowledge", { deleted: k.name }); }
          catch (e) { createMsg.replaceChildren(errorBox(e, "Delete")); }
        } } }, "Delete"))))))));
  if (!ctx.kbs.length) kbList.append(el("p.muted", "No knowledge base yet: create one, or just drop files below (the knowledge base is created on upload)."));

  // --- upload
  const kb = ctx.kb;
  const jobsBox = el("div#jobs");
  const noJobs = el("p.muted.no-jobs", "No job yet for this knowledge base.");
  // A new job card replaces the "no job yet" line: the two never show together.
  const showJob = (job) => { noJobs.remove(); jobsBox.prepend(jobView(job, afterJob, ctx.signal)); };
  const uploadMsg = el("div");
  const fileInput = el("input", { type: "file", multiple: true, hidden: true, "aria-label": "choose files" });
  const dirInput = el("input", { type: "file", multiple: true, hidden: true, webkitdirectory: true, "aria-label": "choose a folder" });
  const target = el("input#upload-kb", { value: kb || "", placeholder: "knowledge base", "aria-label": "upload into knowledge base", size: 14 });
  const drop = el("div.dropzone#dropzone",
    el("div.big", "Drop files, folders or a .zip here"),
    el("div.muted.small", "Markdown, HTML, PDF, text. Folder structure is kept; zip archives are unpacked on the server."),
    el("div.row", { style: { justifyContent: "center", marginTop: "10px" } },
      el("button", { type: "button", on: { click: () => fileInput.click() } }, "Choose files…"),
      el("button", { type: "button", on: { click: () => dirInput.click() } }, "Choose a folder…")),
    fileInput, dirInput);
  const send = async (files) => {
    const into = target.value.trim();
    if (!into) { uploadMsg.replaceChildren(notice("Name the knowledge base to upload into.", "warn")); return; }
    if (!files.length) return;
    const form = new FormData();
    for (const { file, name } of files) form.append("files", file, name);
    uploadMsg.replaceChildren(notice(`Uploading ${files.length} file(s) into “${into}”…`, "info"));
    try {
      const r = await api(`/v1/kbs/${enc(into)}/sources/upload`, { method: "POST", form });
      uploadMsg.replaceChildren(notice(`Uploaded ${r.files} file(s), ${fmtBytes(r.bytes)}. Ingestion job ${r.job.id} started.`, "info"));
      if (into !== ctx.kb) { await ctx.refresh(); ctx.setKb(into); }
      showJob(r.job);
    } catch (e) { uploadMsg.replaceChildren(errorBox(e, "Upload")); }
  };
  fileInput.addEventListener("change", () => send([...fileInput.files].map((f) => ({ file: f, name: f.name }))));
  dirInput.addEventListener("change", () => send([...dirInput.files].map((f) => ({ file: f, name: f.webkitRelativePath || f.name }))));
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (ev) => {
    ev.preventDefault(); drop.classList.remove("over");
    send(await droppedFiles(ev.dataTransfer));
  });

  // --- site URL (the crawl endpoint is looked up in the OpenAPI document)
  const siteMsg = el("div");
  const siteForm = el("form.row", { on: { submit: async (ev) => {
    ev.preventDefault();
    const url = siteForm.querySelector("input").value.trim();
    const into = target.value.trim() || kb;
    siteMsg.replaceChildren();
    const path = await crawlPath(into);
    if (!path) { siteMsg.replaceChildren(notice("Adding a site by URL is not available on this server yet (no crawl endpoint in /v1/openapi.json). Upload the pages, or a zip of them, instead.", "unavailable")); return; }
    const body = { url };
    const maxPages = Number(siteForm.querySelector("#site-max").value);
    if (maxPages > 0) body.max_pages = maxPages;
    const every = Number(siteForm.querySelector("#site-resync").value);
    if (every > 0) body.resync_hours = every;
    try {
      const r = await api(path, { method: "POST", body });
      siteMsg.replaceChildren(notice(`Crawl of ${url} queued.`, "info"));
      if (r.job) showJob(r.job);
    } catch (e) { siteMsg.replaceChildren(errorBox(e, "Add site")); }
  } } },
  el("input.grow#site-url", { type: "url", placeholder: "https://docs.example.com", "aria-label": "site URL", required: true }),
  el("label.ctx", "max pages", el("input#site-max", { type: "number", min: 1, max: 10000, value: "200", style: { width: "84px" } })),
  el("label.ctx", "re-sync", el("select#site-resync", { "aria-label": "re-sync interval" },
    [["0", "never"], ["6", "every 6 h"], ["24", "daily"], ["168", "weekly"]].map(([v, t]) => el("option", { value: v }, t)))),
  el("button", { type: "submit" }, "Crawl site"));

  root.append(el("div.grid.cols-2",
    card("Knowledge bases", kbList, el("h3", "New knowledge base"), createForm, createMsg),
    card("Add sources",
      el("div.row", { style: { marginBottom: "8px" } }, el("span.muted", "Into"), target),
      drop, uploadMsg, el("h3", "Or a website"), siteForm, siteMsg)));

  // --- jobs
  const jobsCard = card("Ingestion jobs", jobsBox);
  root.append(jobsCard);
  if (kb) {
    try {
      const { jobs } = await api(`/v1/jobs?kb=${enc(kb)}`);
      const recent = (jobs || []).slice().sort((a, b) => String(b.created_at).localeCompare(String(a.created_at))).slice(0, 4);
      for (const j of recent) jobsBox.append(jobView(j, afterJob, ctx.signal));
      if (!recent.length && !jobsBox.querySelector(".job")) jobsBox.append(noJobs);
    } catch (e) { jobsBox.append(errorBox(e, "Jobs")); }
  }

  // --- sources and documents
  const sourcesBox = el("div");
  const reportBox = el("div#crawl-report");
  const docsBox = el("div");
  const staleBox = el("div#stale-answers");
  root.append(card("Sources", sourcesBox, reportBox), card(kb ? `Documents in “${kb}”` : "Documents", docsBox));
  root.append(card("Answers quoting changed pages", el("p.muted.small", "Every answer is kept with the page version it quoted. When a re-sync changes a price or a policy, the conversations that quoted the old text are listed here, so someone can follow up."), staleBox));
  async function refreshStale() {
    if (!kb) { staleBox.replaceChildren(); return; }
    try {
      const r = await api(`/v1/kbs/${enc(kb)}/stale-answers`);
      const pages = r.pages || [];
      if (!pages.length) { staleBox.replaceChildren(el("p.muted", "No answer quotes text this knowledge base no longer has.")); return; }
      staleBox.replaceChildren(
        el("div.row", el("span.pill.bad", `${r.answers} answers`), el("span.pill", `${r.conversations} conversations`), el("span.pill", `${pages.length} pages`)),
        ...pages.map((p) => el("details.stale-page", { open: pages.length <= 3 },
          el("summary", el("span.pill" + (p.change === "removed" ? ".bad" : ".warn"), p.change), " ", p.title || p.path, " ",
            el("span.muted.small.mono", p.url || p.path), " ", el("span.muted.small", `${p.answers.length} answers`)),
          el("div.tablewrap", el("table",
            el("thead", el("tr", el("th", "Answered"), el("th", "Agent"), el("th", "Conversation"), el("th", "Quoted (old text)"))),
            el("tbody", p.answers.map((a) => el("tr",
              el("td.small", fmtDate(a.answered_at)), el("td", a.agent),
              el("td.mono.small", `${a.conversation_id} · contact ${a.contact_id}`),
              el("td.small", el("q", a.quoted))))))))));
    } catch (e) { staleBox.replaceChildren(errorBox(e, "Answers quoting changed pages")); }
  }
  async function showReport(src) {
    reportBox.replaceChildren(el("p.muted", "Loading the crawl report…"));
    let r;
    try { r = await api(`/v1/kbs/${enc(kb)}/sources/${enc(src.id)}/report`); }
    catch (e) { reportBox.replaceChildren(errorBox(e, "Crawl report")); return; }
    reportBox.replaceChildren(crawlReport(src, r));
    reportBox.scrollIntoView({ block: "nearest" });
  }
  async function afterJob() {
    await ctx.refresh().catch(() => {});
    refreshTables();
  }
  async function refreshTables() {
    if (!kb) { docsBox.replaceChildren(el("p.muted", "Pick or create a knowledge base.")); return; }
    try {
      const { sources } = await api(`/v1/kbs/${enc(kb)}/sources`);
      sourcesBox.replaceChildren(el("div.tablewrap", el("table",
        el("thead", el("tr", el("th", "Source"), el("th", "Kind"), el("th.num", "Docs"), el("th.hide-narrow", "Last sync"), el("th", ""))),
        el("tbody", (sources || []).map((s) => el("tr",
          el("td", { title: s.location || "" }, el("span" + (s.kind === "upload" ? "" : ".mono"), s.name || s.location || s.id)), el("td", el("span.pill", s.kind)), el("td.num", String(s.documents ?? "–")),
          el("td.hide-narrow", fmtDate(s.last_synced_at)),
          el("td", el("div.row",
            s.kind === "site" ? el("button.small", { type: "button", on: { click: () => showReport(s) } }, "Report") : null,
            el("button.small", { type: "button", on: { click: async () => {
              try { const r = await api(`/v1/kbs/${enc(kb)}/sources/${enc(s.id)}/resync`, { method: "POST" }); showJob(r.job); }
              catch (e) { sourcesBox.prepend(errorBox(e, "Re-sync")); }
            } } }, "Re-sync"),
            el("button.small.danger", { type: "button", on: { click: async () => {
              if (!confirm(`Delete the source ${s.name || s.location}? Its documents leave both indexes.`)) return;
              try { await api(`/v1/kbs/${enc(kb)}/sources/${enc(s.id)}`, { method: "DELETE" }); await ctx.refresh(); refreshTables(); }
              catch (e) { sourcesBox.prepend(errorBox(e, "Delete")); }
            } } }, "Delete")))))))));
      if (!(sources || []).length) sourcesBox.append(el("p.muted", "No source yet."));
    } catch (e) { sourcesBox.replaceChildren(errorBox(e, "Sources")); }
    try {
      const { documents } = await api(`/v1/kbs/${enc(kb)}/documents`);
      const docs = documents || [];
      docsBox.replaceChildren(el("p.muted.small", `${docs.length} documents`), el("div.tablewrap", el("table#documents",
        el("thead", el("tr", el("th", "Document"), el("th", "Type"), el("th.num", "Chunks"), el("th.num.hide-narrow", "Size"), el("th.hide-narrow", "Last sync"))),
        el("tbody", docs.map((d) => el("tr",
          el("td", el("div", d.title || d.path), el("div.muted.small.mono", d.url || d.path)),
          el("td", el("span.pill.pt-" + (d.page_type || "other"), d.page_type || "other")),
          el("td.num", String(d.chunks ?? "–")), el("td.num.hide-narrow", fmtBytes(d.bytes)),
          el("td.hide-narrow.small", fmtDate(d.updated_at))))))));
    } catch (e) { docsBox.replaceChildren(errorBox(e, "Documents")); }
    refreshStale();
  }
  refreshTables();
  return root;
}

const REPORT_PAGE = 50;
const REPORT_STATUSES = ["indexed", "unchanged", "skipped", "failed"];

/** The crawl report of a site source: every discovered URL with its status and full reason, filtered by
 * status and paged (REPORT_PAGE rows a page). `r` is the answer of GET …/sources/{source}/report. */
function crawlReport(src, r) {
  const all = r.pages || [];
  const counts = {};
  for (const p of all) counts[p.status] = (counts[p.status] || 0) + 1;
  // The statuses the report knows, then any other the server returns.
  const statuses = REPORT_STATUSES.concat(Object.keys(counts).filter((s) => !REPORT_STATUSES.includes(s)));
  let filter = "all";
  let page = 0;
  const select = el("select#report-status", { "aria-label": "show pages with status",
    on: { change: () => { filter = select.value; page = 0; draw(); } } },
    el("option", { value: "all" }, `all (${all.length})`),
    statuses.map((s) => el("option", { value: s, disabled: !counts[s] }, `${s} (${counts[s] || 0})`)));
  const range = el("span.muted.small#report-range");
  const prev = el("button.small#report-prev", { type: "button", on: { click: () => { page--; draw(); } } }, "‹ Previous");
  const next = el("button.small#report-next", { type: "button", on: { click: () => { page++; draw(); } } }, "Next ›");
  const body = el("tbody");
  const empty = el("p.muted.small");
  function draw() {
    const rows = filter === "all" ? all : all.filter((p) => p.status === filter);
    const pages = Math.max(1, Math.ceil(rows.length / REPORT_PAGE));
    page = Math.max(0, Math.min(page, pages - 1));
    const shown = rows.slice(page * REPORT_PAGE, (page + 1) * REPORT_PAGE);
    body.replaceChildren(...shown.map((p) => el("tr", { dataset: { status: p.status } },
      el("td.url.mono.small", p.url),
      el("td.status", el("span.pill" + (p.status === "failed" ? ".bad" : p.status === "skipped" ? ".warn" : p.status === "indexed" ? ".ok" : ""), p.status)),
      el("td.reason.small", p.reason || (p.status === "indexed" || p.status === "unchanged" ? "" : "–")))));
    range.textContent = rows.length ? `rows ${page * REPORT_PAGE + 1}–${page * REPORT_PAGE + shown.length} of ${rows.length}` : "no rows";
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    empty.textContent = rows.length ? "" : filter === "all" ? "The crawl discovered no page." : `No page is ${filter}.`;
  }
  draw();
  return el("div.crawl-report",
    el("h3", `Crawl report: ${src.name || src.location}`),
    el("div.row", statuses.filter((s) => counts[s]).map((k) => el("span.pill" + (k === "failed" ? ".bad" : k === "indexed" ? ".ok" : ""), { dataset: { count: k } }, `${k}: ${counts[k]}`))),
    el("div.row.report-controls", el("label.ctx", "Status", select), el("span.spacer"), prev, range, next),
    el("div.report-wrap", el("table.report#report-table",
      el("thead", el("tr", el("th.url", "URL"), el("th.status", "Status"), el("th.reason", "Reason"))), body)),
    empty);
}

let openapiPaths = null;
async function crawlPath(kb) {
  if (!openapiPaths) {
    try { openapiPaths = Object.keys((await api("/v1/openapi.json")).paths || {}); } catch { openapiPaths = []; }
  }
  const p = openapiPaths.find((x) => /^\/v1\/kbs\/\{kb\}\/sources\/(crawl|site|sites|url|urls)$/.test(x))
;
  return p ? p.replace("{kb}", enc(kb)) : null;
}

/** Every file of a drop, folders walked recursively, with their folder-relative names. */
async function droppedFiles(dt) {
  const out = [];
  const entries = [...(dt.items || [])].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dt.files].map((f) => ({ file: f, name: f.name }));
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, name: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, prefix + entry.name + "/");
      }
    }
  }
  for (const e of entries) await walk(e, "");
  return out;
}

/** A job card: status, one bar per ingestion stage, failed/skipped items; follows the SSE stream live. */
export function jobView(job, onFinished, signal) {
  const stages = {};
  const bars = el("div");
  const status = el("span.pill");
  const summary = el("span.muted.small");
  const issues = el("ul.issues");
  const pages = el("div.row.small.pages");
  const label = (job.spec && (job.spec.label || (job.spec.url && "crawl of " + job.spec.url))) || job.kind || "job";
  const failure = el("div.job-error");
  // An upload or folder counts files (found, read, committed), live from the stream; a crawl counts pages.
  const isIngest = job.kind === "ingest";
  const files = { found: 0, read: 0, committed: 0, failed: 0, skipped: 0 };
  function drawFiles() {
    if (!isIngest) return;
    pages.replaceChildren(...["found", "read", "committed", "failed", "skipped"].filter((k) => k !== "failed" && k !== "skipped" || files[k] > 0)
      .map((k) => el("span.pill" + (k === "failed" ? ".bad" : ""), { dataset: { count: k } }, `${files[k]} ${k === "found" ? "files found" : k}`)));
  }
  const root = el("div.job", { dataset: { job: job.id } },
    el("div.row", el("b", label), status, el("span.muted.small.mono", job.id), el("span.spacer"), summary),
    failure, pages, bars, issues);
  /** Takes the stored progress of a job (snapshot, final event): stages, pages, failed and skipped items. */
  function absorb(progress) {
    if (!progress) return;
    for (const [k, v] of Object.entries(progress.stages || {})) stages[k] = Object.assign({}, v);
    if (progress.pages && Object.values(progress.pages).some((n) => n > 0)) {
      pages.replaceChildren(...Object.entries(progress.pages).map(([k, n]) => el("span.pill", `${n} ${k}`)));
    }
    if (progress.files) { Object.assign(files, progress.files); drawFiles(); }
    if (progress.failed || progress.skipped) {
      issues.replaceChildren(
        ...(progress.failed || []).map((it) => el("li", `${it.item}: ${it.reason}`)),
        ...(progress.skipped || []).map((it) => el("li", { style: { color: "var(--muted)" } }, `skipped ${it.item}: ${it.reason}`)));
    }
    const sm = progress.summary;
    if (sm && typeof sm === "object") {
      const parts = ["added", "updated", "removed", "unchanged", "failed", "skipped"].filter((k) => Number.isFinite(sm[k]) && sm[k] > 0).map((k) => `${sm[k]} ${k}`);
      summary.textContent = parts.length ? parts.join(" · ") : "nothing changed";
    }
  }
  absorb(job.progress);
  function setStatus(s, err) {
    root.dataset.status = s;
    status.textContent = s;
    status.className = "pill " + (s === "succeeded" ? "ok" : s === "failed" || s === "cancelled" ? "bad" : "run");
    // A failed job (a crawl that indexed nothing among them) says why in a red box, not only in a pill.
    failure.replaceChildren(...(err && s === "failed" ? [notice(err, "error")] : []));
    if (err && s !== "failed") summary.textContent = err;
  }
  function draw() {
    // A finished job shows the stages it went through (a pipeline may skip one, e.g. chunking inline).
    const final = FINAL.has(root.dataset.status);
    const names = new Set(final ? Object.keys(stages) : INGEST_STAGES.concat(Object.keys(stages)));
    const shown = STAGE_ORDER.filter((n) => names.has(n)).concat([...names].filter((n) => !STAGE_ORDER.includes(n)));
    bars.replaceChildren(...shown.map((name) => {
      const st = stages[name] || {};
      const total = st.total || 0;
      const done = st.done || 0;
      const finished = st.elapsed_ms !== undefined && st.elapsed_ms !== null;
      const frac = total ? done / total : finished ? 1 : 0;
      // A stage without a total (embedding: the chunk count is known only batch by batch) counts what it
      // has done, live, on a moving bar, instead of "–" until it ends.
      const busy = !total && done > 0 && !finished && !final;
      // Bars of a failed job are red: its stages ran, but the job did not deliver.
      const cls = root.dataset.status === "failed" ? "bad" : finished ? "done" : busy ? "busy" : "";
      const unit = STAGE_UNITS[name];
      const value = total ? `${done}/${total}` : done > 0 ? (unit ? `${done} ${unit}` : String(done)) : finished ? "done" : "–";
      const row = bar(name, frac, value, cls);
      row.dataset.stage = name;
      return row;
    }));
  }
  setStatus(job.status, job.error);
  draw();
  if (!FINAL.has(job.status)) follow();
  async function follow() {
    try {
      const res = await stream(`/v1/jobs/${enc(job.id)}/events`, { signal });
      for await (const { event, data } of readSSE(res)) {
        const d = typeof data === "object" && data ? data : {};
        if (event === "snapshot") { setStatus(d.status, d.error); absorb(d.progress); }
        else if (event === "stage_started") {
          setStatus("running"); (stages[d.stage] ||= {}).total = d.total;
          if (d.stage === "extract") { files.found = (d.total || 0) + files.skipped; drawFiles(); }
        }
        else if (event === "advanced") {
          const s = (stages[d.stage] ||= {}); s.done = (s.done || 0) + (d.done || 0);
          if (d.stage === "extract") { files.read += d.done || 0; drawFiles(); }
        }
        else if (event === "stage_finished") { (stages[d.stage] ||= {}).elapsed_ms = d.elapsed_ms ?? 0; }
        else if (event === "item_failed") { issues.append(el("li", `${d.item}: ${d.reason}`)); files.failed++; drawFiles(); }
        else if (event === "item_skipped") { issues.append(el("li", { style: { color: "var(--muted)" } }, `skipped ${d.item}: ${d.reason}`)); files.skipped++; drawFiles(); }
        else if (event === "batch_committed") {
          summary.textContent = `committed ${d.documents} documents, ${d.chunks} chunks`;
          files.committed += d.documents || 0; drawFiles();
        }
        else if (event === "job_finished") {
          absorb(d.progress);
          setStatus(d.status, d.error); draw();
          if (onFinished) onFinished(d);
          break;
        } else if (event === "server_stopping") { summary.textContent = "server stopping: the job resumes at the next start"; break; }
        draw();
      }
    } catch (e) {
      if (e && e.name === "AbortError") return;
      root.append(errorBox(e, "Live progress"));
    }
  }
  return root;
}
