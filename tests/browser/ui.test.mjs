// End-to-end tests of the Throughline web UI and widget in a real browser (Debian's chromium, headless),
// against the real server started by run.sh (THROUGHLINE_URL, THROUGHLINE_ADMIN_TOKEN).
//
// Tests of endpoints that this server does not list in /v1/openapi.json are skipped as PENDING with the
// missing route named; once a route is listed, its tests run and must pass (they cannot skip any more).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";
import { chromium } from "playwright-core";

const BASE = process.env.THROUGHLINE_URL;
const TOKEN = process.env.THROUGHLINE_ADMIN_TOKEN;
assert.ok(BASE && TOKEN, "run through run.sh (THROUGHLINE_URL and THROUGHLINE_ADMIN_TOKEN)");
const HERE = dirname(fileURLToPath(import.meta.url));
const ART = join(HERE, "artifacts");
mkdirSync(ART, { recursive: true });
const KB = "e2e";
const AGENT = "e2e-agent";

let context, page, profile, siteServer, siteOrigin, otherServer, otherOrigin;
let routes = new Set();
const outside = []; // requests to the outside host of the XSS document

async function apiJson(path, init = {}) {
  const res = await fetch(BASE + path, {
    ...init,
    headers: { Authorization: "Bearer " + TOKEN, "Content-Type": "application/json", ...(init.headers || {}) },
  });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}

function has(method, path) { return routes.has(method.toLowerCase() + " " + path); }
function pending(t, ...needed) {
  const missing = needed.filter(([m, p]) => !has(m, p));
  if (missing.length) {
    t.skip("PENDING: needs " + missing.map(([m, p]) => `${m.toUpperCase()} ${p}`).join(", ") + " (not on this server yet)");
    return true;
  }
  return false;
}
const AGENTS = ["get", "/v1/agents"];
const AGENT_GET = ["get", "/v1/agents/{agent}"];
const CHAT = ["post", "/v1/agents/{agent}/chat"];
const SESSIONS = ["post", "/v1/agents/{agent}/sessions"];
const PUBLISH = ["post", "/v1/agents/{agent}/publish"];
const AUDIT = ["get", "/v1/agents/{agent}/audit"];
const HANDOFFS = ["get", "/v1/agents/{agent}/handoffs"];

async function shoot(name) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(ART, `${name}-1280.png`), fullPage: false });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(ART, `${name}-390.png`), fullPage: false });
  await page.setViewportSize({ width: 1280, height: 800 });
}

async function screen(name, extra = "") {
  // A fresh hash each time, so the screen always renders anew.
  const sep = extra.includes("?") ? "&" : "?";
  await page.goto(`${BASE}/#/${name}${extra}${sep}_=${Date.now()}`);
  await page.waitForSelector(`#screen[data-screen="${name}"][data-ready="1"]`);
}

function staticSite(html) {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(html(req));
    });
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
}

const widgetPage = (agent, key) => (req) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Acme</title></head>
<body style="font-family:sans-serif"><h1>Acme, a customer site (${req.url.replace(/[^a-z0-9/]/gi, "")})</h1>
<p>Lorem ipsum: this page embeds the Throughline widget from another origin.</p>
<script src="${BASE}/widget.js" data-agent="${agent}" data-key="${key}"></script></body></html>`;

before(async () => {
  // The sample knowledge base is ingested at the first start: wait for it.
  for (let i = 0; i < 360; i++) {
    const r = await apiJson("/v1/kbs");
    if (r.status === 200 && (r.body.kbs || []).some((k) => k.name === "sample" && k.documents > 0)) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  const spec = await apiJson("/v1/openapi.json");
  for (const [p, ops] of Object.entries(spec.body.paths || {})) for (const m of Object.keys(ops)) routes.add(m + " " + p);
  console.log(`# the server lists ${routes.size} operations; agent routes live: ${has(...AGENTS)}`);
  profile = mkdtempSync(join(tmpdir(), "tl-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  context.on("request", (r) => { if (r.url().includes("127.0.0.2") || /\/x$/.test(r.url())) outside.push(r.url()); });
  page = context.pages()[0] || (await context.newPage());
  page.on("pageerror", (e) => console.log("# page error:", e.message));
});

after(async () => {
  if (context) await context.close();
  if (siteServer) siteServer.close();
  if (otherServer) otherServer.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test("sign in with the admin token; the overview shows the knowledge and the four stages", async () => {
  await page.goto(BASE + "/");
  await page.waitForSelector("#login[open]");
  await page.fill("#login-token", "wrong-token");
  await page.click("#login-go");
  await page.waitForSelector("#login-error:has-text('refused')");
  await page.fill("#login-token", TOKEN);
  await page.click("#login-go");
  await page.waitForSelector('#screen[data-screen="overview"][data-ready="1"]');
  assert.equal(await page.locator(".stage-card").count(), 4);
  const stats = await page.locator(".kpis .stat").allTextContents();
  assert.ok(Number(stats[1]) > 0, "the sample knowledge base has documents: " + stats);
  assert.ok(await page.locator("#open-playground").isVisible());
  await shoot("0-overview");
});

test("knowledge: upload files into a new knowledge base, watch the job finish, see the documents", async () => {
  await screen("knowledge");
  await page.fill("#upload-kb", KB);
  const files = [
    { name: "zephyr-refunds.md", mimeType: "text/markdown", buffer: Buffer.from(
      "# Zephyr refund policy\n\nZephyr widgets can be refunded within 45 days of purchase.\n\n" +
      "<script>window.__xss=1</script>\n\n<img src=x onerror=\"window.__xss=1\">\n\n" +
      "![x](http://127.0.0.2:9/leak.png)\n\nThe Zephyr refund window is 45 days; email refunds@zephyr.test to start one.\n") },
    // Plain text keeps the markup as text all the way to the answer: the UI alone must keep it inert.
    { name: "zephyr-refund-payment.txt", mimeType: "text/plain", buffer: Buffer.from(
      // (The answerer never quotes units that read as markup or code, such as an <img onerror> tag; a script tag
      // and an image link inside a prose sentence still reach the answer, so the UI is what must keep them inert.)
      "Zephyr refund payments\n\nZephyr refunds are paid by bank transfer within 45 days <script>window.__xss=1</script> ![x](http://127.0.0.2:9/leak.png) of the refund request.\n") },
    { name: "zephyr-setup.md", mimeType: "text/markdown", buffer: Buffer.from(
      "# Setting up a Zephyr widget\n\nPlug the Zephyr widget in, open the Zephyr app and press Pair. The light turns green when paired.\n") },
    { name: "zephyr-pricing.md", mimeType: "text/markdown", buffer: Buffer.from(
      "# Zephyr pricing\n\nZephyr Basic costs $9 per month for 3 widgets. Zephyr Pro costs $29 per month for 20 widgets.\n") },
  ];
  await page.locator('#dropzone input[type=file]:not([webkitdirectory])').setInputFiles(files);
  await page.waitForSelector(".notice:has-text('Ingestion job')");
  const jobId = await page.locator(".job").first().getAttribute("data-job");
  const job = page.locator(`.job[data-job="${jobId}"]`);
  assert.equal(await job.locator(".barrow").count(), 5, "one progress bar per ingestion stage");
  await page.waitForSelector(`.job[data-job="${jobId}"][data-status="succeeded"]`, { timeout: 120_000 });
  assert.ok(await job.locator(".barrow.done").count() >= 4, "finished stages are drawn as done");
  // An upload counts files, not crawl pages ("0 discovered · 0 fetched · 0 indexed").
  const counters = await job.locator(".pages").textContent();
  assert.match(counters, /4 files found/, counters);
  assert.match(counters, /4 committed/, counters);
  assert.doesNotMatch(counters, /discovered|fetched/, counters);
  await page.waitForSelector("#documents tbody tr");
  await screen("knowledge");
  // The documents table fills in after the screen is ready: wait for it, then read it.
  await page.waitForSelector("#documents tbody tr");
  const rows = await page.locator("#documents tbody tr").allTextContents();
  assert.equal(rows.length, 4, rows.join("|"));
  assert.ok(rows.some((r) => r.includes("Zephyr refund policy")));
  assert.ok(await page.locator("#documents .pill").count() === 4, "page type shown");
  // The source is listed under what was uploaded, not the server's folder for it.
  const sourceText = await page.locator("section.card:has(> h2:text-is('Sources')) table").first().textContent();
  assert.match(sourceText, /zephyr-refunds\.md \+ 3 more/, sourceText);
  assert.match(sourceText, /upload/, sourceText);
  assert.doesNotMatch(sourceText, /uploads\//, sourceText);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(outside, [], "no request to the outside host");
  await shoot("1-knowledge");
});

test("knowledge: a site URL starts a crawl job whose progress and per-page outcomes are shown", async (t) => {
  if (pending(t, ["post", "/v1/kbs/{kb}/sources/site"])) return;
  const site = await staticSite((req) => `<!doctype html><html><head><title>Zephyr crawl ${req.url.replace(/[^a-z0-9/]/gi, "")}</title></head>
<body><main><h1>Zephyr page ${req.url.replace(/[^a-z0-9/]/gi, "")}</h1><p>The Zephyr crawl test page explains how widgets pair with the app, in enough words to count as content.</p>
<a href="/a">a</a> <a href="/b">b</a></main></body></html>`);
  try {
    await screen("knowledge");
    await page.fill("#upload-kb", "e2e-site");
    await page.fill("#site-url", `http://127.0.0.1:${site.address().port}/`);
    await page.fill("#site-max", "5");
    await page.click("form.row:has(#site-url) button[type=submit]");
    await page.waitForSelector("#screen .notice:has-text('Crawl of'), #screen .notice.error");
    assert.equal(await page.locator("#screen .notice.error").count(), 0, await page.locator("#screen .notice.error").allTextContents().then(String));
    const jobId = await page.locator(".job").first().getAttribute("data-job");
    const card = page.locator(`.job[data-job="${jobId}"]`);
    await page.waitForSelector(`.job[data-job="${jobId}"]:is([data-status="succeeded"], [data-status="failed"])`, { timeout: 120_000 });
    // run.sh starts the server with --allow-private-network (the server-level setting): a site on
    // 127.0.0.1 is crawled, not refused.
    const docs = (await apiJson("/v1/kbs/e2e-site/documents")).body?.documents || [];
    const summary = (await card.locator(".spacer + span").textContent()) || "";
    assert.equal(await card.getAttribute("data-status"), "succeeded", `a loopback site with the setting on: ${summary} ${await card.locator(".issues").textContent()}`);
    assert.equal(docs.length, 3, `the start page and its two links are indexed: ${JSON.stringify(docs.map((d) => d.path))}`);
    assert.equal(await card.locator(".job-error .notice").count(), 0);
    assert.ok(await card.locator(".pages .pill").count() > 0, "page counts (discovered, fetched, indexed)");
    await shoot("1-knowledge-crawl");
  } finally { site.close(); }
});

test("knowledge: a crawl that indexes nothing shows as failed with its reason, not as a success", async (t) => {
  if (pending(t, ["post", "/v1/kbs/{kb}/sources/site"])) return;
  const gone = await new Promise((resolve) => {
    const srv = http.createServer((req, res) => { res.writeHead(404, { "content-type": "text/html" }); res.end("<h1>Not here</h1>"); });
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
  try {
    await screen("knowledge");
    await page.fill("#upload-kb", "e2e-gone");
    await page.fill("#site-url", `http://127.0.0.1:${gone.address().port}/docs/`);
    await page.click("form.row:has(#site-url) button[type=submit]");
    await page.waitForSelector("#screen .notice:has-text('Crawl of')");
    const jobId = await page.locator(".job").first().getAttribute("data-job");
    const card = page.locator(`.job[data-job="${jobId}"]`);
    await page.waitForSelector(`.job[data-job="${jobId}"]:is([data-status="succeeded"], [data-status="failed"])`, { timeout: 120_000 });
    assert.equal(await card.getAttribute("data-status"), "failed", "a crawl that indexed nothing failed");
    assert.equal(await card.locator(".pill.bad").first().textContent(), "failed");
    const reason = await card.locator(".job-error .notice.error").textContent();
    assert.match(reason, /nothing was indexed: 1 page failed/);
    assert.match(reason, /HTTP 404/);
    assert.equal(await card.locator(".barrow.done").count(), 0, "no green bars on a failed job");
    const job = (await apiJson(`/v1/jobs/${jobId}`)).body;
    assert.equal(job.status, "failed");
    assert.match(job.error, /nothing was indexed/);
    await shoot("1-knowledge-crawl-failed");
  } finally { gone.close(); }
});

test("knowledge: the crawl report lists every row with paging, filters by status, shows full reasons, fits a phone", async (t) => {
  if (pending(t, ["post", "/v1/kbs/{kb}/sources/site"], ["get", "/v1/kbs/{kb}/sources/{source}/report"])) return;
  // A start page linking to a missing page and to 260 others; with max pages 3 most of them are skipped
  // ("page limit"), so the report has far more than 200 rows, of three statuses.
  const N = 260;
  const site = await new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      if (req.url === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html><head><title>Report start</title></head><body><main><h1>Report start</h1>
<p>The start page of the crawl report test links to many pages about pairing widgets with the app.</p>
<a href="/missing-page-that-answers-404">missing</a>
${Array.from({ length: N }, (_, i) => `<a href="/guide/page-${i}">page ${i}</a>`).join("\n")}</main></body></html>`);
      } else if (req.url.startsWith("/guide/")) {
        const n = req.url.replace(/[^0-9]/g, "");
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html><head><title>Guide ${n}</title></head><body><main><h1>Guide ${n}</h1>
<p>Guide number ${n} of the report test explains step ${n} of pairing a widget, in enough words to count as content.</p></main></body></html>`);
      } else { res.writeHead(404, { "content-type": "text/html" }); res.end("<h1>Not here</h1>"); }
    });
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
  const before = await page.inputValue("#ctx-kb").catch(() => "");
  try {
    await screen("knowledge");
    await page.fill("#upload-kb", "e2e-report");
    const start = `http://127.0.0.1:${site.address().port}/`;
    await page.fill("#site-url", start);
    await page.fill("#site-max", "3");
    await page.click("form.row:has(#site-url) button[type=submit]");
    await page.waitForSelector("#screen .notice:has-text('Crawl of')");
    const jobId = await page.locator(".job").first().getAttribute("data-job");
    await page.waitForSelector(`.job[data-job="${jobId}"]:is([data-status="succeeded"], [data-status="failed"])`, { timeout: 120_000 });
    const sources = (await apiJson("/v1/kbs/e2e-report/sources")).body.sources;
    const source = sources.find((s) => s.kind === "site");
    assert.ok(source, JSON.stringify(sources));
    const api = (await apiJson(`/v1/kbs/e2e-report/sources/${source.id}/report`)).body;
    assert.ok(api.pages.length > 200, `more than 200 rows to show: ${api.pages.length}`);
    const byStatus = {};
    for (const p of api.pages) (byStatus[p.status] ||= []).push(p);
    assert.ok(byStatus.indexed && byStatus.skipped && byStatus.failed, Object.keys(byStatus).join(","));

    await page.selectOption("#ctx-kb", "e2e-report");
    await page.waitForSelector('#screen[data-screen="knowledge"][data-ready="1"]');
    const row = page.locator("section.card:has(> h2:text-is('Sources')) tr", { hasText: "127.0.0.1" });
    await row.locator("button", { hasText: "Report" }).click();
    await page.waitForSelector("#report-table");

    // Every row, page after page, with its full reason.
    const readPages = async () => {
      const seen = [];
      for (let i = 0; i < 50; i++) {
        seen.push(...await page.$$eval("#report-table tbody tr", (trs) => trs.map((tr) => ({
          url: tr.querySelector("td.url").textContent, status: tr.dataset.status, reason: tr.querySelector("td.reason").textContent,
        }))));
        if (await page.locator("#report-next").isDisabled()) break;
        await page.click("#report-next");
      }
      return seen;
    };
    const shown = await readPages();
    assert.equal(shown.length, api.pages.length, "every row of the report, not the first 200");
    const want = new Map(api.pages.map((p) => [p.url, p]));
    for (const r of shown) {
      const p = want.get(r.url);
      assert.ok(p, "a row of the report: " + r.url);
      assert.equal(r.status, p.status);
      if (p.reason) assert.equal(r.reason, p.reason, "the full reason");
    }
    assert.equal(new Set(shown.map((r) => r.url)).size, api.pages.length, "no row twice");

    // The status filter shows the rows of one status, all of them.
    for (const status of ["failed", "skipped", "indexed"]) {
      await page.selectOption("#report-status", status);
      const rows = await readPages();
      assert.equal(rows.length, byStatus[status].length, `${status}: ${rows.length} rows`);
      assert.ok(rows.every((r) => r.status === status), status);
    }
    const failed = await page.selectOption("#report-status", "failed").then(() => page.locator("#report-table tbody tr").first());
    assert.match(await failed.locator("td.reason").textContent(), /404/);

    // On a phone, the status and the reason of a row are on the screen, wrapped, not scrolled away.
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.waitForTimeout(150);
      for (const status of ["failed", "skipped"]) {
        await page.selectOption("#report-status", status);
        const first = page.locator("#report-table tbody tr").first();
        await first.scrollIntoViewIfNeeded();
        for (const cell of ["td.status", "td.reason", "td.url"]) {
          const box = await first.locator(cell).boundingBox();
          assert.ok(box && box.width > 0 && box.height > 0, `${status} ${cell} is shown on a phone`);
          assert.ok(box.x >= 0 && box.x + box.width <= 390 + 0.5, `${status} ${cell} within the screen: ${JSON.stringify(box)}`);
        }
        const over = await page.$eval(".report-wrap", (w) => w.scrollWidth - w.clientWidth);
        assert.ok(over <= 1, "the report does not scroll sideways on a phone: " + over);
      }
      await page.selectOption("#report-status", "all");
      await page.screenshot({ path: join(ART, "1-knowledge-report-390.png") });
    } finally { await page.setViewportSize({ width: 1280, height: 800 }); }
    await page.screenshot({ path: join(ART, "1-knowledge-report-1280.png") });
  } finally {
    site.close();
    if (before) await page.selectOption("#ctx-kb", before).catch(() => {});
    await apiJson("/v1/kbs/e2e-report", { method: "DELETE" });
  }
});

test("knowledge: creating a knowledge base shows it at once and selects it in the Into box", async () => {
  await screen("overview");
  await page.click('#nav a[data-screen="knowledge"]');
  await page.waitForSelector('#screen[data-screen="knowledge"][data-ready="1"]');
  assert.notEqual(await page.inputValue("#upload-kb"), "e2e-fresh");
  await page.fill("#new-kb", "e2e-fresh");
  await page.click("form.row:has(#new-kb) button[type=submit]");
  await page.waitForSelector('#screen[data-ready="1"] tr[data-kb="e2e-fresh"]', { timeout: 10_000 });
  assert.equal(await page.inputValue("#upload-kb"), "e2e-fresh", "uploads now go into the new knowledge base");
  assert.equal(await page.inputValue("#ctx-kb"), "e2e-fresh");
  assert.match(await page.locator('tr[data-kb="e2e-fresh"]').textContent(), /in use/);
  await apiJson("/v1/kbs/e2e-fresh", { method: "DELETE" });
});

test("knowledge: an upload's embed bar counts chunks while the job runs; no \"No job yet\" under a job card", async () => {
  const KBE = "e2e-embed";
  const before = await page.inputValue("#ctx-kb").catch(() => "");
  try {
    await screen("knowledge");
    await page.fill("#new-kb", KBE);
    await page.click("form.row:has(#new-kb) button[type=submit]");
    await page.waitForSelector(`#screen[data-ready="1"] tr[data-kb="${KBE}"]`, { timeout: 10_000 });
    assert.equal(await page.inputValue("#upload-kb"), KBE);
    // A knowledge base without jobs says so…
    assert.equal(await page.locator("#jobs :text('No job yet for this knowledge base.')").count(), 1);
    // Everything the embed bar shows, with the job's status at that moment.
    await page.evaluate(() => {
      window.__embedSeen = [];
      const box = document.getElementById("jobs");
      new MutationObserver(() => {
        for (const job of box.querySelectorAll(".job")) {
          // (Found by its label: the old markup has no data-stage.)
          const row = [...job.querySelectorAll(".barrow")].find((r) => r.querySelector(".barlabel")?.textContent === "embed");
          if (!row) continue;
          const value = row.querySelector(".barvalue").textContent;
          const last = window.__embedSeen[window.__embedSeen.length - 1];
          if (!last || last.value !== value || last.status !== job.dataset.status) window.__embedSeen.push({ status: job.dataset.status, value });
        }
      }).observe(box, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    // Enough documents for several batches (32 documents each), so embedding takes a while.
    const files = Array.from({ length: 96 }, (_, i) => ({
      name: `guide-${String(i).padStart(3, "0")}.md`, mimeType: "text/markdown",
      buffer: Buffer.from(`# Guide ${i}: pairing widget model ${i}\n\n` + Array.from({ length: 4 }, (_, j) =>
        `## Step ${j + 1}\n\nFor widget model ${i}, step ${j + 1} is to hold the pair button for ${i % 7 + j + 2} seconds until ` +
        `the light blinks ${["green", "blue", "amber", "white"][(i + j) % 4]}; then open the app, choose model ${i} from the list ` +
        `and confirm the code shown on the widget. If the light turns red, restart the widget and repeat step ${j + 1}.\n`).join("\n")),
    }));
    await page.locator('#dropzone input[type=file]:not([webkitdirectory])').setInputFiles(files);
    await page.waitForSelector("#jobs .job");
    const jobId = await page.locator("#jobs .job").first().getAttribute("data-job");
    // …but not once a job card is shown.
    assert.equal(await page.locator("#jobs :text('No job yet')").count(), 0, "no \"No job yet\" under a job card");
    await page.waitForSelector(`.job[data-job="${jobId}"]:is([data-status="succeeded"], [data-status="failed"])`, { timeout: 300_000 });
    assert.equal(await page.locator(`.job[data-job="${jobId}"]`).getAttribute("data-status"), "succeeded");
    assert.equal(await page.locator("#jobs :text('No job yet')").count(), 0);
    const seen = await page.evaluate(() => window.__embedSeen);
    const live = seen.filter((s) => !["succeeded", "failed", "cancelled"].includes(s.status));
    console.log(`# the embed bar while the job ran: ${live.map((s) => s.value).join(", ")}`);
    const counts = live.map((s) => /^(\d+) chunks$/.exec(s.value)).filter(Boolean).map((m) => Number(m[1]));
    assert.ok(counts.length >= 2 && counts.some((n) => n > 0), "the embed bar counted chunks while the job ran: " + JSON.stringify(seen));
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i] >= counts[i - 1], "the count only grows: " + counts.join(","));
    const final = (await page.locator(`.job[data-job="${jobId}"] .barrow[data-stage="embed"] .barvalue`).textContent()).trim();
    const kbInfo = (await apiJson("/v1/kbs")).body.kbs.find((k) => k.name === KBE);
    assert.equal(final, `${kbInfo.chunks} chunks`, "the finished bar counts every chunk embedded");
    await shoot("1-knowledge-embed");
  } finally {
    await apiJson(`/v1/kbs/${KBE}`, { method: "DELETE" });
    if (before) await page.selectOption("#ctx-kb", before).catch(() => {});
  }
});

test("playground search tab: hits with snippets and score bars, hostile text stays text", async () => {
  await page.selectOption("#ctx-kb", KB);
  await screen("playground", "?tab=search");
  await page.waitForSelector("#search-q");
  await page.fill("#search-q", "zephyr refund window");
  await page.locator("#search-q").press("Enter");
  await page.waitForSelector("#hits .hit");
  const first = await page.locator("#hits .hit").first().textContent();
  assert.match(first, /refund/i);
  assert.ok(await page.locator("#hits .hit .barrow.fused").count() > 0);
  assert.ok(await page.locator("#hits mark").count() > 0, "highlights");
  assert.equal(await page.locator("#hits img, #hits script").count(), 0);
  // Only absolute http(s) URLs that the server returned become links (an uploaded file has none).
  const api = await apiJson(`/v1/kbs/${KB}/search`, { method: "POST", body: JSON.stringify({ q: "zephyr refund window", limit: 10 }) });
  const allowed = new Set(api.body.hits.map((h) => h.url).filter((u) => /^https?:\/\//.test(u || "")));
  for (const href of await page.locator("#hits a").evaluateAll((as) => as.map((a) => a.getAttribute("href")))) {
    assert.ok(allowed.has(href), `a link to ${href}, which the server did not return as a source URL`);
  }
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(outside, [], "no request to the outside host");
  await shoot("3-search");
});

test("degrades clearly where the agent API is not there yet", async (t) => {
  if (has(...AGENTS)) { t.skip("the agent API is live: covered by the tests below"); return; }
  for (const s of ["agent", "playground", "publish", "audit"]) {
    await screen(s);
    assert.ok(await page.locator(".notice.unavailable").count() > 0, `${s} shows a not-available notice`);
    await shoot(`${s}-unavailable`);
  }
});

test("agent builder: create an agent, edit the persona, save a version, diff versions", async (t) => {
  if (pending(t, AGENTS, AGENT_GET, ["post", "/v1/agents"], ["put", "/v1/agents/{agent}"], ["get", "/v1/agents/{agent}/versions"])) return;
  const created = await apiJson("/v1/agents", { method: "POST", body: JSON.stringify({ name: AGENT, kb: KB }) });
  assert.ok([200, 201].includes(created.status), JSON.stringify(created.body));
  await page.goto(BASE + "/#/overview");
  await page.reload();
  await page.waitForSelector('#screen[data-ready="1"]');
  await page.selectOption("#ctx-agent", AGENT);
  await screen("agent");
  const persona = page.locator("label.field:has-text('persona') textarea, label.field:has-text('persona') input").first();
  await persona.fill("A calm, precise Zephyr support specialist.");
  await page.click("#save-agent");
  await page.waitForSelector(".notice:has-text('Saved as version')");
  await page.waitForSelector("#diff .add:has-text('calm, precise')", { timeout: 10_000 });
  assert.match(await page.locator("#diff").textContent(), /calm, precise/);
  await shoot("2-agent");
});

test("agent builder: creating an agent switches the builder to it, and its save writes that agent", async (t) => {
  if (pending(t, AGENTS, ["post", "/v1/agents"], ["put", "/v1/agents/{agent}"])) return;
  const demoBefore = (await apiJson("/v1/agents/demo")).body;
  await page.selectOption("#ctx-agent", "demo");
  await screen("overview");
  await page.click('#nav a[data-screen="agent"]');
  await page.waitForSelector('#screen[data-screen="agent"][data-ready="1"]');
  await page.click('details:has(input[aria-label="agent name"]) > summary');
  await page.fill('input[aria-label="agent name"]', "e2e-second");
  await page.selectOption('form select[aria-label="knowledge base"]', KB);
  await page.click("form.row:has(input[aria-label='agent name']) button[type=submit]");
  await page.waitForSelector('#screen[data-ready="1"] h2:has-text("e2e-second · version 1")', { timeout: 15_000 });
  assert.equal(await page.inputValue("#ctx-agent"), "e2e-second");
  await page.click("#save-agent");
  await page.waitForSelector(".notice:has-text('Saved as version 2')");
  const second = (await apiJson("/v1/agents/e2e-second")).body;
  assert.equal(second.version, 2);
  assert.deepEqual(second.kbs, [KB], "the new agent kept its own knowledge base");
  const demoAfter = (await apiJson("/v1/agents/demo")).body;
  assert.equal(demoAfter.version, demoBefore.version, "the other agent was not written");
});

test("agent builder: delete an agent, after a confirmation", async (t) => {
  if (pending(t, AGENTS, ["delete", "/v1/agents/{agent}"])) return;
  await page.selectOption("#ctx-agent", "e2e-second");
  await screen("agent");
  page.once("dialog", (d) => d.dismiss());
  await page.click("#delete-agent");
  await page.waitForTimeout(300);
  assert.equal((await apiJson("/v1/agents/e2e-second")).status, 200, "dismissing the confirmation keeps the agent");
  page.once("dialog", (d) => { assert.match(d.message(), /Delete the agent “e2e-second”/); d.accept(); });
  await page.click("#delete-agent");
  await page.waitForSelector('.notice:has-text("Agent “e2e-second” deleted")');
  assert.equal((await apiJson("/v1/agents/e2e-second")).status, 404);
  const options = await page.locator("#ctx-agent option").allTextContents();
  assert.ok(!options.includes("e2e-second"), options.join("|"));
});

async function chatAsk(text) {
  const before = await page.locator(".msg.assistant").count();
  await page.fill("#ask", text);
  await page.locator("#ask").press("Enter");
  await page.waitForFunction((n) => {
    const m = document.querySelectorAll(".msg.assistant");
    return (m.length > n && m[m.length - 1].querySelector(".meta")) || document.querySelector(".chat .notice.error, .chat .notice.unavailable");
  }, before, { timeout: 60_000 });
  const err = await page.locator(".chat .notice.error, .chat .notice.unavailable").allTextContents();
  assert.deepEqual(err, [], "the chat failed");
  return page.locator(".msg.assistant").last();
}

test("playground: a streamed, cited answer with its trace (demo agent on the sample knowledge)", async (t) => {
  if (pending(t, AGENTS, CHAT, SESSIONS)) return;
  await page.selectOption("#ctx-agent", "demo");
  await screen("playground");
  const answer = await chatAsk("How do I invite a teammate?");
  assert.ok((await answer.locator(".cite").count()) > 0, "numbered citations in the answer");
  assert.ok((await page.locator("#trace .chunk").count()) > 0, "retrieved chunks in the trace");
  assert.ok((await page.locator("#trace .barrow.bm25").count()) > 0, "BM25 bars");
  assert.match(await page.locator("#trace").textContent(), /Rewritten query/i);
  await answer.locator(".cite").first().click();
  await page.waitForSelector("#trace .notice.info");
  await shoot("3-playground");
});

test("playground: a test event (limit_reached) brings a proactive message", async (t) => {
  if (pending(t, CHAT, ["post", "/v1/events"])) return;
  await page.selectOption("#contact", "playground-customer");
  await page.click("form.row:has(#event-name) button");
  await page.waitForSelector(".msg.proactive, #screen .notice:has-text('Event'), #screen .notice.error", { timeout: 30_000 });
  assert.equal(await page.locator("#screen .notice.error").count(), 0, await page.locator("#screen .notice.error").allTextContents().then(String));
});

test("XSS: the hostile document, asked about in the playground, never runs nor loads", async (t) => {
  if (pending(t, AGENTS, CHAT, SESSIONS)) return;
  await apiJson("/v1/agents", { method: "POST", body: JSON.stringify({ name: AGENT, kb: KB }) });
  await page.goto(BASE + "/#/overview");
  await page.reload();
  await page.waitForSelector('#screen[data-ready="1"]');
  await page.selectOption("#ctx-agent", AGENT);
  await screen("playground");
  const answer = await chatAsk("How are Zephyr refunds paid?");
  assert.match(await page.locator("#messages, #trace").allTextContents().then(String), /onerror|<script>|leak\.png/, "the hostile markup reached the page as text");
  await page.waitForTimeout(500);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await answer.locator("img, script").count(), 0);
  assert.equal(await page.locator("#trace img, #trace script").count(), 0);
  assert.deepEqual(outside, [], "no request to the outside host");
});

let publicKey = null;
test("publish: allowed origins, public key, snippet, examples, preview", async (t) => {
  if (pending(t, AGENTS, PUBLISH, AGENT_GET)) return;
  siteServer = await staticSite(() => "");
  siteOrigin = `http://127.0.0.1:${siteServer.address().port}`;
  await page.selectOption("#ctx-agent", "demo");
  await screen("publish");
  await page.fill("#origins", `${BASE}\n${siteOrigin}`);
  await page.click("#publish");
  await page.waitForSelector("#public-key");
  publicKey = (await page.locator("#public-key").textContent()).trim();
  assert.match(publicKey, /^pk_/);
  assert.match(await page.locator("#snippet").textContent(), new RegExp(`widget\\.js" data-agent="demo" data-key="${publicKey}"`));
  await page.frameLocator("#preview").locator("#throughline-widget").waitFor({ state: "attached" });
  await shoot("4-publish");
});

test("phone: the nav shows every screen (Publish and Audit too), the public key fits the screen", async (t) => {
  if (pending(t, AGENTS, PUBLISH, AGENT_GET) || !publicKey) { if (!t.skipped && !publicKey) t.skip("PENDING: publish did not run"); return; }
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.selectOption("#ctx-agent", "demo");
    await screen("publish");
    await page.waitForSelector("#public-key");
    const vw = await page.evaluate(() => window.innerWidth);
    assert.equal(vw, 390);
    // Every screen's link is on the screen as the page opens, without scrolling the nav.
    const links = page.locator("#nav a[data-screen]");
    const n = await links.count();
    assert.ok(n >= 7, "one link per screen: " + n);
    for (let i = 0; i < n; i++) {
      const a = links.nth(i);
      const name = await a.getAttribute("data-screen");
      assert.ok(await a.isVisible(), name + " is shown");
      const box = await a.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= vw + 0.5 && box.y >= 0 && box.y + box.height <= 844, `${name} within the screen: ${JSON.stringify(box)}`);
      const hit = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.closest("a")?.dataset.screen, [box.x + box.width / 2, box.y + box.height / 2]);
      assert.equal(hit, name, `${name} is not covered by something else`);
    }
    // The public key breaks inside the card instead of widening the page.
    const key = page.locator("#public-key");
    const kbox = await key.boundingBox();
    assert.ok(kbox.x >= 0 && kbox.x + kbox.width <= vw + 0.5, "the public key within the screen: " + JSON.stringify(kbox));
    assert.equal((await key.textContent()).trim(), publicKey, "the whole key is shown");
    const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(pageWidth <= vw, `the Publish screen does not scroll sideways: ${pageWidth} > ${vw}`);
    await page.screenshot({ path: join(ART, "4-publish-phone-390.png") });
    // Publish and Audit are one tap away.
    await page.click('#nav a[data-screen="audit"]');
    await page.waitForSelector('#screen[data-screen="audit"][data-ready="1"]');
    await page.click('#nav a[data-screen="publish"]');
    await page.waitForSelector('#screen[data-screen="publish"][data-ready="1"]');
  } finally { await page.setViewportSize({ width: 1280, height: 800 }); }
});

/** Asks in the widget of page `w`; returns {cls, text, hrefs} of the reply bubble. */
async function widgetAsk(w, text, { viaHuman = false } = {}) {
  const shadow = w.locator("#throughline-widget");
  const before = await shadow.locator(".m").count();
  if (viaHuman) await shadow.locator(".human").click();
  else {
    await shadow.locator("input").fill(text);
    await shadow.locator("input").press("Enter");
  }
  await w.waitForFunction((n) => {
    const ms = document.querySelector("#throughline-widget").shadowRoot.querySelectorAll(".m");
    // The user's message, then the reply, marked data-done once its stream has ended.
    return ms.length >= n + 2 && ms[n + 1].hasAttribute("data-done");
  }, before, { timeout: 60_000 });
  const reply = shadow.locator(".m").nth(before + 1);
  return {
    cls: await reply.getAttribute("class"),
    text: await reply.textContent(),
    hrefs: await reply.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href"))),
    cites: await reply.locator("ol.src li").count(),
  };
}

test("widget on another origin: a cited answer, remembered across pages, a handoff, hostile content inert", async (t) => {
  if (pending(t, PUBLISH, SESSIONS, CHAT) || !publicKey) { if (!t.skipped && !publicKey) t.skip("PENDING: publish did not run"); return; }
  siteServer.removeAllListeners("request");
  siteServer.on("request", (req, res) => { res.writeHead(200, { "content-type": "text/html; charset=utf-8" }); res.end(widgetPage("demo", publicKey)(req)); });
  const w = await context.newPage();
  w.on("pageerror", (e) => console.log("# widget page error:", e.message));
  await w.goto(siteOrigin + "/pricing");
  const shadow = w.locator("#throughline-widget");
  await shadow.locator(".bubble").click();
  const r = await widgetAsk(w, "How much does the Team plan cost?");
  assert.match(r.cls, /\ba\b/, "an answer, not an error: " + r.text);
  assert.ok(r.text.length > 20, r.text);
  assert.ok(r.cites > 0, "the answer lists its sources: " + JSON.stringify(r));
  // Sample documents come from a folder (no URL): a citation links only to an http(s) URL the server gave.
  for (const href of r.hrefs) assert.match(href, /^https?:\/\//);
  await w.screenshot({ path: join(ART, "widget-1280.png") });
  // Remembered across pages: another page of the site shows the history.
  await w.goto(siteOrigin + "/docs");
  await shadow.locator(".bubble").click();
  await w.waitForFunction(() => document.querySelector("#throughline-widget").shadowRoot.querySelectorAll(".m.u").length >= 1, null, { timeout: 10_000 });
  // A handoff.
  const hand = await widgetAsk(w, "", { viaHuman: true });
  assert.match(hand.cls, /\ba\b/, "the agent answers the request for a human: " + hand.text);
  assert.ok(await shadow.locator(".m.s").count() > 0, "the visitor is told a person follows up");
  await w.setViewportSize({ width: 390, height: 844 });
  await w.screenshot({ path: join(ART, "widget-390.png") });
  assert.equal(await w.evaluate(() => window.__xss), undefined);
  await w.close();
});

test("XSS in the widget: an answer from the hostile document never runs nor loads", async (t) => {
  if (pending(t, PUBLISH, SESSIONS, CHAT) || !siteServer) { if (!t.skipped && !siteServer) t.skip("PENDING: publish did not run"); return; }
  const pub = await apiJson(`/v1/agents/${AGENT}/publish`, { method: "POST", body: JSON.stringify({ allowed_origins: [siteOrigin] }) });
  assert.equal(pub.status, 200, JSON.stringify(pub.body));
  siteServer.removeAllListeners("request");
  siteServer.on("request", (req, res) => { res.writeHead(200, { "content-type": "text/html; charset=utf-8" }); res.end(widgetPage(AGENT, pub.body.public_key)(req)); });
  const w = await context.newPage();
  await w.goto(siteOrigin + "/refunds");
  await w.locator("#throughline-widget .bubble").click();
  const r = await widgetAsk(w, "How are Zephyr refunds paid?");
  assert.match(r.cls, /\ba\b/, "an answer: " + r.text);
  assert.match(r.text, /onerror|<script>|leak\.png/, "the hostile markup reached the widget as text: " + r.text);
  await w.waitForTimeout(500);
  assert.equal(await w.evaluate(() => window.__xss), undefined);
  assert.equal(await w.evaluate(() => document.querySelector("#throughline-widget").shadowRoot.querySelectorAll(".msgs img, .msgs script").length), 0);
  assert.deepEqual(outside, [], "no request to the outside host");
  await w.close();
});

test("widget on an origin that is not allowed gets no answer", async (t) => {
  if (pending(t, PUBLISH, SESSIONS) || !publicKey) { if (!t.skipped && !publicKey) t.skip("PENDING: publish did not run"); return; }
  otherServer = await staticSite(widgetPage("demo", publicKey));
  otherOrigin = `http://127.0.0.1:${otherServer.address().port}`;
  const w = await context.newPage();
  await w.goto(otherOrigin + "/");
  await w.locator("#throughline-widget .bubble").click();
  const r = await widgetAsk(w, "hello?");
  assert.match(r.cls, /\bs\b/, "an error line, not an answer: " + r.text);
  assert.match(r.text, /Sorry/);
  // A hint naming the origin problem, not "Sorry, Failed to fetch."
  assert.doesNotMatch(r.text, /Failed to fetch/, r.text);
  assert.ok(r.text.includes(otherOrigin) && /allowed origins/.test(r.text), r.text);
  assert.match(await w.locator("#throughline-widget .hint[role=alert]").textContent(), /not allowed/);
  await w.close();
});

test("audit: funnel, rates, response times, gaps and the handoff", async (t) => {
  if (pending(t, AUDIT, HANDOFFS)) return;
  await page.selectOption("#ctx-agent", "demo");
  await screen("audit");
  assert.ok(await page.locator("svg.funnel rect").count() === 4);
  const h = await page.locator(".handoff").count();
  if (has(...PUBLISH)) assert.ok(h > 0, "the widget's handoff is listed");
  const gap = page.locator("button.add-doc").first();
  if (await gap.count()) {
    await shoot("5-audit");
    await gap.click();
    await page.waitForSelector('#screen[data-screen="knowledge"] .notice.warn:has-text("Knowledge gap")');
  } else await shoot("5-audit");
});

test("audit and overview: rates are shares (never over 100%), the agent's card counts the agent's own knowledge", async (t) => {
  if (pending(t, AUDIT, CHAT)) return;
  // Several conversations of one stage, one handed off: 'resolved' is a share of them, not a count.
  for (const c of ["rate-a@zephyr.test", "rate-b@zephyr.test", "rate-c@zephyr.test"]) {
    const r = await apiJson(`/v1/agents/${AGENT}/chat`, { method: "POST", body: JSON.stringify({ contact: c, message: "How do I pair a Zephyr widget?" }) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  await apiJson(`/v1/agents/${AGENT}/chat`, { method: "POST", body: JSON.stringify({ contact: "rate-a@zephyr.test", message: "I want to talk to a human" }) });
  const audit = (await apiJson(`/v1/agents/${AGENT}/audit`)).body;
  for (const [stage, a] of Object.entries(audit.stages)) {
    assert.ok(a.resolved_rate >= 0 && a.resolved_rate <= 1, `${stage}: ${JSON.stringify(a)}`);
    assert.ok(a.handoff_rate >= 0 && a.handoff_rate <= 1, `${stage}: ${JSON.stringify(a)}`);
  }
  await page.selectOption("#ctx-agent", AGENT);
  await screen("audit");
  const values = await page.locator(".barrow .barvalue").allTextContents();
  const pcts = values.map((v) => /^(\d+(?:\.\d+)?)%/.exec(v)).filter(Boolean).map((m) => Number(m[1]));
  assert.ok(pcts.length >= 12, values.join("|"));
  assert.ok(pcts.every((p) => p <= 100), "no rate above 100%: " + values.join("|"));
  assert.ok(values.some((v) => /^\d+% \(\d+ of \d+\)$/.test(v)), "resolved shows its count beside the share: " + values.join("|"));
  // Overview: the agent's card counts its own knowledge base, the server totals are a separate line.
  await screen("overview");
  const kbInfo = (await apiJson(`/v1/kbs/${KB}`)).body;
  assert.equal(await page.locator('#agent-kpis [data-kpi="kbs"] .stat').textContent(), "1");
  assert.equal(await page.locator('#agent-kpis [data-kpi="documents"] .stat').textContent(), String(kbInfo.documents));
  assert.equal(await page.locator('#agent-kpis [data-kpi="contacts"] .stat').textContent(), String(audit.contacts));
  const all = (await apiJson("/v1/kbs")).body.kbs;
  assert.match(await page.locator("#server-totals").textContent(), new RegExp(`Server: ${all.length} knowledge bases, ${all.reduce((n, k) => n + (k.documents || 0), 0)} documents`));
  for (const s of ["acquisition", "activation", "support", "expansion"]) {
    const kv = await page.locator(`.stage-card[data-stage="${s}"] .kv`).textContent();
    const m = /resolved w\/o handoff(\d+(?:\.\d+)?)%/.exec(kv);
    assert.ok(m && Number(m[1]) <= 100, `${s}: ${kv}`);
  }
});

test("leads: a prospect who gives an email and a team size is listed with facts, conversation and CSV export", async (t) => {
  if (pending(t, CHAT, ["get", "/v1/agents/{agent}/leads"])) return;
  const ask = (message) => apiJson(`/v1/agents/${AGENT}/chat`, { method: "POST", body: JSON.stringify({ contact: "visitor-dana", message }) });
  assert.equal((await ask("How much does Zephyr Pro cost?")).status, 200);
  const turn = await ask("dana@acme.io, we are 12 engineers");
  assert.equal(turn.status, 200, JSON.stringify(turn.body));
  const leads = (await apiJson(`/v1/agents/${AGENT}/leads`)).body.leads;
  const lead = leads.find((l) => l.email === "dana@acme.io");
  assert.ok(lead, JSON.stringify(leads));
  await page.selectOption("#ctx-agent", AGENT);
  await screen("leads");
  const row = page.locator(`#leads tr[data-contact="${lead.contact_id}"]`);
  const cells = await row.locator("td").allTextContents();
  assert.ok(cells.includes("dana@acme.io"), cells.join("|"));
  assert.ok(cells.includes("12"), "the team size has its column: " + cells.join("|"));
  assert.match(await page.locator("#leads thead").textContent(), /Team size/);
  await row.locator(".open-conversation").click();
  await page.waitForSelector(`#lead-conversation .transcript[data-conversation="${turn.body.conversation_id}"]`);
  assert.match(await page.locator("#lead-conversation").textContent(), /we are 12 engineers/);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-leads")]);
  assert.equal(download.suggestedFilename(), `leads-${AGENT}.csv`);
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split(/\r\n/);
  assert.match(lines[0], /"contact_id","contact_key","email","company_size"/);
  assert.ok(lines.some((l) => l.includes('"dana@acme.io","12"')), csv);
  await shoot("8-leads");
});

test("publish examples ask this agent's questions; the TOML has short numbers; the favicon exists", async (t) => {
  if (pending(t, AGENTS, PUBLISH, AGENT_GET)) return;
  const agent = (await apiJson(`/v1/agents/${AGENT}`)).body;
  if (!agent.published) await apiJson(`/v1/agents/${AGENT}/publish`, { method: "POST", body: JSON.stringify({ allowed_origins: [BASE] }) });
  await page.selectOption("#ctx-agent", AGENT);
  await screen("publish");
  const curl = await page.locator("#example-curl").textContent();
  const py = await page.locator("#example-openai").textContent();
  assert.doesNotMatch(curl + py, /Team plan|invite a teammate/, "not the demo company's questions");
  const product = agent.config.product || AGENT;
  assert.ok(curl.includes(`How much does ${product} cost?`), curl);
  assert.ok(py.includes(`How do I get started with ${product}?`), py);
  // A threshold saved from the builder's JSON stays as typed in the TOML.
  const saved = await apiJson(`/v1/agents/${AGENT}`, { method: "PUT", body: JSON.stringify({ config: { ...agent.config, confidence_threshold: 0.36 } }) });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  await screen("agent");
  const toml = await page.inputValue("#config-toml");
  assert.match(toml, /^confidence_threshold = 0\.36$/m);
  assert.doesNotMatch(toml, /\d\.\d{9,}/, "no float noise: " + toml.slice(0, 300));
  const icon = await fetch(BASE + "/favicon.ico");
  assert.equal(icon.status, 200);
  assert.match(icon.headers.get("content-type"), /image\//);
  assert.equal(await page.locator('link[rel="icon"]').count(), 1);
});

test("plan catalogue: fix a price in the builder; the agents get a version quoting it", async (t) => {
  if (pending(t, ["get", "/v1/kbs/{kb}/plans"], ["put", "/v1/kbs/{kb}/plans"], ["delete", "/v1/kbs/{kb}/plans"])) return;
  await page.selectOption("#ctx-agent", "demo");
  await screen("agent");
  await page.waitForSelector("#plans .plan");
  // The Team row of the catalogue table: its prices cell holds JSON.
  const names = page.locator('.card:has(#plans) table.objtable input[aria-label="name"]');
  const values = await names.evaluateAll((els) => els.map((e) => e.value));
  const idx = values.indexOf("Team");
  assert.ok(idx >= 0, values.join("|"));
  const prices = page.locator('.card:has(#plans) table.objtable input[aria-label="prices"]').nth(idx);
  await prices.fill('[{"amount": 99, "currency": "USD", "period": "month"}]');
  await page.click("#save-plans");
  await page.waitForSelector(".notice:has-text('Plans saved')");
  assert.match(await page.locator(".notice:has-text('Plans saved')").textContent(), /demo v\d+/);
  const cat = await apiJson("/v1/kbs/sample/plans");
  assert.equal(cat.body.edited, true);
  assert.equal(cat.body.plans.find((p) => p.name === "Team").prices[0].amount, 99);
  await screen("agent");
  await page.waitForSelector("#revert-plans");
  await shoot("6-plans");
  await page.click("#revert-plans");
  await page.waitForSelector(".notice:has-text('Back to the extracted plans')");
  assert.equal((await apiJson("/v1/kbs/sample/plans")).body.edited, false);
});

test("knowledge: answers that quoted a page which then changed are listed with their conversations", async (t) => {
  if (pending(t, ["get", "/v1/kbs/{kb}/stale-answers"], CHAT)) return;
  const turn = await apiJson(`/v1/agents/${AGENT}/chat`, { method: "POST", body: JSON.stringify({ contact: "stale@zephyr.test", message: "How many days is the Zephyr widget refund window?" }) });
  assert.equal(turn.status, 200, JSON.stringify(turn.body));
  const cited = (turn.body.citations || []).map((c) => c.path);
  assert.ok(cited.includes("zephyr-refunds.md"), JSON.stringify(turn.body));
  // The page changes: the old text is gone.
  const form = new FormData();
  form.append("files", new Blob(["# Zephyr refund policy\n\nZephyr widgets can no longer be refunded; every sale is final.\n"], { type: "text/markdown" }), "zephyr-refunds.md");
  const res = await fetch(`${BASE}/v1/kbs/${KB}/sources/upload`, { method: "POST", headers: { Authorization: "Bearer " + TOKEN }, body: form });
  assert.equal(res.status, 202);
  const job = (await res.json()).job.id;
  let status = "queued";
  for (let i = 0; i < 240 && !["succeeded", "failed", "cancelled"].includes(status); i++) {
    await new Promise((r) => setTimeout(r, 250));
    status = (await apiJson(`/v1/jobs/${job}`)).body.status;
  }
  assert.equal(status, "succeeded", "the upload job finished");
  await page.selectOption("#ctx-kb", KB);
  await screen("knowledge");
  await page.waitForSelector("#stale-answers details.stale-page");
  const text = await page.locator("#stale-answers").textContent();
  assert.match(text, /zephyr-refunds\.md/);
  assert.match(text, /changed/);
  assert.match(text, new RegExp(turn.body.conversation_id));
  assert.match(text, /45 days/, "the old quoted text is shown");
  await page.locator("#stale-answers").scrollIntoViewIfNeeded();
  await shoot("7-stale-answers");
  // The overview flags it too, with the way to the list.
  await screen("overview");
  await page.waitForSelector("#stale-notice");
  assert.match(await page.locator("#stale-notice").textContent(), /1 earlier answer in 1 conversation quotes text that changed on 1 page/);
});

test("playground: the Onboarding user test contact is onboarding from its first message", async (t) => {
  if (pending(t, CHAT, SESSIONS)) return;
  await page.selectOption("#ctx-agent", "demo");
  await screen("playground");
  await page.selectOption("#contact", "playground-onboarding");
  await chatAsk("How do I create my first monitor?");
  const c = await apiJson("/v1/agents/demo/contacts/playground-onboarding");
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal(c.body.lifecycle, "onboarding", "no event was sent: the preset alone sets it");
});

test("widget customised on the Publish screen; a human's reply from the handoff screen arrives live", async (t) => {
  // Not skipped when the widget or events routes are missing: this is the test of them (issue 13).
  if (pending(t, PUBLISH, SESSIONS, CHAT, HANDOFFS)) return;
  // A fresh origin (no stored session): the greeting and suggestions show.
  const host = await staticSite(widgetPage("demo", publicKey || ""));
  const hostOrigin = `http://127.0.0.1:${host.address().port}`;
  try {
    const agent = await apiJson("/v1/agents/demo");
    const pub = await apiJson("/v1/agents/demo/publish", { method: "POST", body: JSON.stringify({ allowed_origins: [...(agent.body.allowed_origins || []), hostOrigin] }) });
    assert.equal(pub.status, 200, JSON.stringify(pub.body));
    host.removeAllListeners("request");
    host.on("request", (req, res) => { res.writeHead(200, { "content-type": "text/html; charset=utf-8" }); res.end(widgetPage("demo", pub.body.public_key)(req)); });

    await page.selectOption("#ctx-agent", "demo");
    await screen("publish");
    await page.fill("#widget-title", "Uptrail help");
    await page.fill("#widget-greeting", "Hi! Ask me about monitors and alerts.");
    await page.fill("#widget-suggestions", "How do I invite a teammate?\nWhy did my Slack alerts stop?");
    await page.fill("#widget-color", "#0b7a75");
    await page.selectOption("#widget-position", "left");
    await page.fill("#widget-launcher", "Chat with us");
    await page.click("#widget-save");
    await page.waitForSelector("#screen .notice:has-text('Widget saved')");
    await shoot("8-publish-widget");

    const w = await context.newPage();
    await w.goto(hostOrigin + "/help");
    const shadow = w.locator("#throughline-widget");
    await shadow.locator(".ltext:has-text('Chat with us')").waitFor();
    assert.match(await shadow.locator(".tl").getAttribute("class"), /\bleft\b/);
    assert.equal(await w.evaluate(() => getComputedStyle(document.querySelector("#throughline-widget").shadowRoot.querySelector(".bubble")).backgroundColor), "rgb(11, 122, 117)");
    await shadow.locator(".ltext").click();
    await shadow.locator(".m.greet:has-text('Ask me about monitors')").waitFor();
    assert.equal(await shadow.locator("b").first().textContent(), "Uptrail help");
    assert.equal(await shadow.locator(".sugg button").count(), 2);
    // A suggested question is asked with one click.
    await shadow.locator(".sugg button").first().click();
    await w.waitForFunction(() => {
      const ms = document.querySelector("#throughline-widget").shadowRoot.querySelectorAll(".m.a");
      return ms.length >= 2 && ms[ms.length - 1].hasAttribute("data-done");
    }, null, { timeout: 60_000 });
    assert.equal(await shadow.locator(".sugg button").count(), 0, "suggestions go once the visitor asks");
    await w.screenshot({ path: join(ART, "widget-custom-1280.png") });

    // The visitor asks for a human; the team answers from the handoff screen; the open widget shows it.
    const hand = await widgetAsk(w, "", { viaHuman: true });
    assert.match(hand.cls, /\ba\b/, hand.text);
    await screen("audit");
    const card = page.locator(".handoff:has(.handoff-conversation:has-text('How do I invite a teammate?'))").first();
    await card.waitFor();
    assert.match(await card.locator(".handoff-conversation").textContent(), /visitor: .*talk to a human/);
    await card.locator("input[aria-label=reply]").fill("Hi, this is Sam from the team: I will add your teammate for you.");
    await card.locator("button:has-text('Reply')").click();
    await card.locator(".notice:has-text('Reply sent')").waitFor();
    await shadow.locator(".m.h:has-text('Sam from the team')").waitFor({ timeout: 10_000 });
    await w.screenshot({ path: join(ART, "widget-live-reply-1280.png") });
    await w.close();
  } finally {
    host.close();
  }
});
