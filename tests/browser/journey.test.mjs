// The newcomer's journey (issue 13), end to end in a real browser (Debian's chromium, headless), from an EMPTY
// data dir: this file starts its own server (target/release/throughline, or THROUGHLINE_BIN) with
// --no-sample --allow-private-network on a free port, and takes every step through the web UI:
// sign in, create a knowledge base, upload a zip of real docs (a subset of ../shared/corpora/ably), add a site
// source served on loopback, watch the jobs finish, open the crawl report, create an agent, set something in
// each of the four stages and save, ask one question per stage in the playground (cited answers), publish
// with the host page's origin allowed, customise the widget, chat in the widget on that host page, give an
// email and a team size, ask for a human, answer from the handoff screen and see the reply arrive live, then
// check the audit and the Leads screen. The whole journey's wall time is printed ("journey wall time: N s").
//
// Run: cd tests/browser && node --test --test-concurrency=1 --test-reporter=spec journey.test.mjs
// (THROUGHLINE_URL and THROUGHLINE_ADMIN_TOKEN from run.sh are ignored: this file runs its own server.)
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, existsSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn, execFileSync } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../..");
const ART = join(HERE, "artifacts");
mkdirSync(ART, { recursive: true });
const BIN = process.env.THROUGHLINE_BIN || join(ROOT, "target/release/throughline");
const CORPUS = resolve(ROOT, "../shared/corpora/ably/src/pages/docs");
const TOKEN = `tla_journey_${Date.now()}_${Math.floor(Math.random() * 1e9)}`;
const KB = "ably";
const AGENT = "ably-agent";
// About twenty real pages of the Ably docs: getting started, pricing, account, auth, channels, support.
const DOCS = [
  "getting-started/index.mdx", "getting-started/javascript.mdx", "getting-started/node.mdx", "getting-started/python.mdx",
  "platform/pricing/index.mdx", "platform/pricing/free.mdx", "platform/pricing/standard.mdx", "platform/pricing/pro.mdx",
  "platform/pricing/enterprise.mdx", "platform/pricing/billing.mdx", "platform/pricing/limits.mdx",
  "platform/account/index.mdx", "platform/account/team.mdx", "platform/account/organizations.mdx",
  "platform/support/index.mdx", "auth/index.mdx", "auth/basic.mdx", "auth/capabilities.mdx",
  "channels/index.mdx", "faq/index.mdx",
];

let server, serverLog, dataDir, work, BASE, context, page, profile, site, host;

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

function listen(handler) {
  return new Promise((res) => { const srv = http.createServer(handler); srv.listen(0, "127.0.0.1", () => res(srv)); });
}

async function apiJson(path, init = {}) {
  const r = await fetch(BASE + path, { ...init, headers: { Authorization: "Bearer " + TOKEN, "Content-Type": "application/json", ...(init.headers || {}) } });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body };
}

async function screen(name) {
  await page.goto(`${BASE}/#/${name}?_=${Date.now()}`);
  await page.waitForSelector(`#screen[data-screen="${name}"][data-ready="1"]`);
}

/** Goes to a screen the way a user does: through the nav. */
async function nav(name) {
  await page.click(`#nav a[data-screen="${name}"]`);
  await page.waitForSelector(`#screen[data-screen="${name}"][data-ready="1"]`);
}

const timings = [];
/** One step of the journey, timed; a failure names the step. */
async function step(name, fn) {
  const t0 = Date.now();
  try { await fn(); }
  catch (e) {
    await page?.screenshot({ path: join(ART, `journey-failed-${name.replace(/[^a-z0-9]+/gi, "-")}.png`) }).catch(() => {});
    console.log(`# journey step "${name}" FAILED after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    throw new Error(`journey step "${name}" failed: ${e.message}`, { cause: e });
  } finally { timings.push([name, (Date.now() - t0) / 1000]); }
  console.log(`# ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Asks in the playground; returns the answer bubble once its meta line is drawn. */
async function chatAsk(text) {
  const before = await page.locator(".msg.assistant").count();
  await page.fill("#ask", text);
  await page.locator("#ask").press("Enter");
  await page.waitForFunction((n) => {
    const m = document.querySelectorAll(".msg.assistant");
    return (m.length > n && m[m.length - 1].querySelector(".meta")) || document.querySelector(".chat .notice.error, .chat .notice.unavailable");
  }, before, { timeout: 90_000 });
  assert.deepEqual(await page.locator(".chat .notice.error, .chat .notice.unavailable").allTextContents(), [], "the chat failed");
  return page.locator(".msg.assistant").last();
}

/** Asks in the widget of page `w`; returns {cls, text, cites} of the reply bubble. */
async function widgetAsk(w, text, { viaHuman = false } = {}) {
  const shadow = w.locator("#throughline-widget");
  const before = await shadow.locator(".m").count();
  if (viaHuman) await shadow.locator(".human").click();
  else { await shadow.locator("input").fill(text); await shadow.locator("input").press("Enter"); }
  await w.waitForFunction((n) => {
    const ms = document.querySelector("#throughline-widget").shadowRoot.querySelectorAll(".m");
    return ms.length >= n + 2 && ms[n + 1].hasAttribute("data-done");
  }, before, { timeout: 90_000 });
  const reply = shadow.locator(".m").nth(before + 1);
  return { cls: await reply.getAttribute("class"), text: await reply.textContent(), cites: await reply.locator("ol.src li").count() };
}

after(async () => {
  if (context) await context.close().catch(() => {});
  if (site) site.close();
  if (host) host.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => { server.once("exit", r); setTimeout(r, 5000); });
  }
  for (const d of [dataDir, work, profile]) if (d) rmSync(d, { recursive: true, force: true });
});

test("a newcomer's journey: empty data dir → docs and a site → agent with four stages → widget → live handoff → audit and lead", { timeout: 900_000 }, async () => {
  assert.ok(existsSync(BIN), `the throughline binary at ${BIN} (build it, or set THROUGHLINE_BIN)`);
  assert.ok(existsSync("/usr/bin/chromium"), "/usr/bin/chromium (apt-get install -y chromium)");
  for (const d of DOCS) assert.ok(existsSync(join(CORPUS, d)), `corpus page ${d}`);
  assert.doesNotThrow(() => execFileSync("zip", ["-v"], { stdio: "ignore" }), "the zip CLI (apt-get install -y zip) builds the docs zip");
  const journeyStart = Date.now();

  await step("start the server on an empty data dir", async () => {
    dataDir = mkdtempSync(join(tmpdir(), "tl-journey-data-"));
    work = mkdtempSync(join(tmpdir(), "tl-journey-work-"));
    const port = await freePort();
    BASE = `http://127.0.0.1:${port}`;
    const logPath = join(ART, "journey-server.log");
    serverLog = openSync(logPath, "w");
    server = spawn(BIN, ["serve", "--addr", `127.0.0.1:${port}`, "--no-sample", "--allow-private-network", "--data-dir", dataDir], {
      // THROUGHLINE_WEB_DIR: the UI files of this checkout (the same as the embedded ones in a fresh build).
      cwd: ROOT, env: { ...process.env, THROUGHLINE_ADMIN_TOKEN: TOKEN, THROUGHLINE_WEB_DIR: join(ROOT, "web") }, stdio: ["ignore", serverLog, serverLog],
    });
    closeSync(serverLog);
    let up = false;
    for (let i = 0; i < 240 && !up; i++) {
      assert.equal(server.exitCode, null, `the server exited (see ${logPath})`);
      up = await fetch(BASE + "/health").then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(up, `the server came up on ${BASE} (see ${logPath})`);
    assert.deepEqual((await apiJson("/v1/kbs")).body.kbs, [], "an empty data dir: no knowledge base, not even the sample");
    profile = mkdtempSync(join(tmpdir(), "tl-journey-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: "/usr/bin/chromium", headless: true, viewport: { width: 1280, height: 800 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (e) => console.log("# page error:", e.message));
  });

  await step("sign in with the admin token", async () => {
    await page.goto(BASE + "/");
    await page.waitForSelector("#login[open]");
    await page.fill("#login-token", TOKEN);
    await page.click("#login-go");
    await page.waitForSelector('#screen[data-screen="overview"][data-ready="1"]');
  });

  await step("create a knowledge base", async () => {
    await nav("knowledge");
    await page.fill("#new-kb", KB);
    await page.click("form.row:has(#new-kb) button[type=submit]");
    await page.waitForSelector(`#screen[data-ready="1"] tr[data-kb="${KB}"]`, { timeout: 10_000 });
    assert.equal(await page.inputValue("#upload-kb"), KB, "uploads go into the new knowledge base");
  });

  let zipPath;
  await step("upload a zip of 20 real docs and watch the job finish", async () => {
    // The zip a founder would make of their docs folder (the `zip` CLI; folder structure kept).
    zipPath = join(work, "ably-docs.zip");
    execFileSync("zip", ["-q", "-X", zipPath, ...DOCS], { cwd: CORPUS });
    await page.locator('#dropzone input[type=file]:not([webkitdirectory])').setInputFiles(zipPath);
    await page.waitForSelector(".notice:has-text('Ingestion job'), #screen .notice.error");
    assert.equal(await page.locator("#screen .notice.error").count(), 0, await page.locator("#screen .notice.error").allTextContents().then(String));
    const jobId = await page.locator("#jobs .job").first().getAttribute("data-job");
    await page.waitForSelector(`.job[data-job="${jobId}"]:is([data-status="succeeded"], [data-status="failed"])`, { timeout: 300_000 });
    const card = page.locator(`.job[data-job="${jobId}"]`);
    assert.equal(await card.getAttribute("data-status"), "succeeded", await card.textContent());
    const counters = await card.locator(".pages").textContent();
    assert.match(counters, new RegExp(`${DOCS.length} committed`), counters);
    await page.waitForSelector("#documents tbody tr");
    await page.screenshot({ path: join(ART, "journey-1-upload.png") });
  });

  await step("add a site source on loopback, watch the crawl, open the crawl report", async () => {
    const pages = {
      "/": ["Ably status and support hours", "Ably support answers tickets around the clock for Pro and Enterprise packages; Standard package customers get answers within one business day. See <a href=\"/sla\">the SLA</a>, <a href=\"/contact\">contact</a> and <a href=\"/regions\">regions</a>."],
      "/sla": ["Ably uptime SLA", "The Enterprise package comes with a 99.999% uptime SLA and financial credits when it is missed. Pro has a 99.99% uptime SLA. <a href=\"/\">home</a>"],
      "/contact": ["Contact Ably support", "Open a ticket from the dashboard, or email support@ably.test. Urgent incidents for Enterprise customers are paged to an on-call engineer within 15 minutes. <a href=\"/\">home</a>"],
      "/regions": ["Ably data regions", "Ably runs in seven core regions and more than six hundred edge points of presence; Enterprise customers can pin data to the EU or the US. <a href=\"/\">home</a>"],
    };
    site = await listen((req, res) => {
      const p = pages[req.url.split("?")[0]];
      if (!p) { res.writeHead(404, { "content-type": "text/html" }); res.end("<h1>Not here</h1>"); return; }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${p[0]}</title></head><body><main><h1>${p[0]}</h1><p>${p[1]}</p></main></body></html>`);
    });
    const url = `http://127.0.0.1:${site.address().port}/`;
    assert.equal(await page.inputValue("#upload-kb"), KB);
    await page.fill("#site-url", url);
    await page.fill("#site-max", "20");
    await page.click("form.row:has(#site-url) button[type=submit]");
    await page.waitForSelector("#screen .notice:has-text('Crawl of'), #screen .notice.error");
    assert.equal(await page.locator("#screen .notice.error").count(), 0, await page.locator("#screen .notice.error").allTextContents().then(String));
    const jobId = await page.locator("#jobs .job").first().getAttribute("data-job");
    await page.waitForSelector(`.job[data-job="${jobId}"]:is([data-status="succeeded"], [data-status="failed"])`, { timeout: 180_000 });
    const card = page.locator(`.job[data-job="${jobId}"]`);
    assert.equal(await card.getAttribute("data-status"), "succeeded", await card.textContent());
    // The sources table is redrawn after the job: the site row gets its Report button.
    const row = page.locator("section.card:has(> h2:text-is('Sources')) tr", { hasText: "127.0.0.1" });
    await row.locator("button", { hasText: "Report" }).click({ timeout: 15_000 });
    await page.waitForSelector("#report-table tbody tr");
    const statuses = await page.$$eval("#report-table tbody tr", (trs) => trs.map((tr) => tr.dataset.status));
    assert.equal(statuses.filter((s) => s === "indexed").length, Object.keys(pages).length, "every page of the site indexed: " + statuses);
    await page.screenshot({ path: join(ART, "journey-2-crawl-report.png") });
    const kb = (await apiJson(`/v1/kbs/${KB}`)).body;
    assert.equal(kb.documents, DOCS.length + Object.keys(pages).length, JSON.stringify(kb));
  });

  // What the playground asks per stage, as the test contact of that stage; the same sentences teach the
  // router in the builder (the "something set for each stage").
  const QUESTIONS = {
    acquisition: ["playground-prospect", "How much does the Pro package cost per month?"],
    activation: ["playground-onboarding", "How do I get started with Ably in JavaScript?"],
    support: ["playground-customer", "Why am I seeing every message multiple times? It is not working right."],
    expansion: ["playground-customer", "We keep hitting the Standard package limits: what does Pro add?"],
  };

  await step("create an agent", async () => {
    await nav("agent");
    await page.fill('input[aria-label="agent name"]', AGENT);
    await page.selectOption('form select[aria-label="knowledge base"]', KB);
    await page.click("form.row:has(input[aria-label='agent name']) button[type=submit]");
    await page.waitForSelector(`#screen[data-ready="1"] h2:has-text("${AGENT} · version 1")`, { timeout: 30_000 });
    assert.equal(await page.inputValue("#ctx-agent"), AGENT);
  });

  await step("set something for each of the four stages in the builder and save", async () => {
    const stage = (label) => page.locator("details.stage", { has: page.locator(`summary:has-text("${label}")`) });
    // Acquisition: the question asking for the use case.
    const acq = stage("Acquisition");
    if ((await acq.getAttribute("open")) === null) await acq.locator("summary").click();
    const q = acq.locator('input[aria-label="question"]').last();
    await q.fill("What will you build with Ably: chat, live dashboards, multiplayer?");
    // Support: one more failed answer before the handoff.
    const sup = stage("Support");
    await sup.locator("summary").click();
    await sup.locator("label.field:has-text('max failures') input").fill("3");
    // And, for every stage, the router learns the sentence the playground asks below.
    for (const [s, [, question]] of Object.entries(QUESTIONS)) await page.fill(`#router-${s}`, question);
    await page.click("#save-agent");
    await page.waitForSelector(".notice:has-text('Saved as version 2')", { timeout: 15_000 });
    const saved = (await apiJson(`/v1/agents/${AGENT}`)).body.config;
    assert.equal(saved.support.max_failures, 3, JSON.stringify(saved.support));
    assert.match(JSON.stringify(saved.acquisition), /What will you build with Ably/);
    for (const [s, [, question]] of Object.entries(QUESTIONS)) assert.deepEqual(saved.router[s], [question], s);
    await page.screenshot({ path: join(ART, "journey-3-builder.png") });
  });

  await step("ask one question per stage in the playground: cited answers", async () => {
    await nav("playground");
    const seen = {};
    for (const [s, [contact, question]] of Object.entries(QUESTIONS)) {
      await page.selectOption("#contact", contact);
      const answer = await chatAsk(question);
      const text = await answer.textContent();
      assert.ok((await answer.locator(".cite").count()) > 0, `${s}: numbered citations in the answer: ${text}`);
      assert.ok((await answer.locator("ol.sources li").count()) > 0, `${s}: the sources list`);
      seen[s] = (await answer.locator(".meta .pill").first().textContent()).trim();
      console.log(`# playground ${s} (${contact}): routed to ${seen[s]}`);
    }
    assert.deepEqual(Object.values(seen), Object.keys(QUESTIONS), "each question lands in its stage: " + JSON.stringify(seen));
    await page.screenshot({ path: join(ART, "journey-4-playground.png") });
  });

  let hostOrigin, snippet;
  await step("publish with the host page's origin allowed", async () => {
    host = await listen((req, res) => { res.writeHead(503); res.end("not yet"); });
    hostOrigin = `http://127.0.0.1:${host.address().port}`;
    await nav("publish");
    await page.fill("#origins", `${BASE}\n${hostOrigin}`);
    await page.click("#publish");
    await page.waitForSelector("#public-key");
    assert.match((await page.locator("#public-key").textContent()).trim(), /^pk_/);
    snippet = (await page.locator("#snippet").textContent()).trim();
    assert.match(snippet, new RegExp(`data-agent="${AGENT}"`));
    assert.deepEqual((await apiJson(`/v1/agents/${AGENT}`)).body.allowed_origins.sort(), [BASE, hostOrigin].sort());
  });

  await step("customise the widget on the Publish screen", async () => {
    await page.fill("#widget-title", "Ably help");
    await page.fill("#widget-greeting", "Hi! Ask me about Ably pricing, setup and support.");
    await page.fill("#widget-suggestions", "How much does the Pro package cost per month?\nHow do I get started with Ably in JavaScript?");
    await page.fill("#widget-color", "#e8472b");
    await page.selectOption("#widget-position", "left");
    await page.fill("#widget-launcher", "Questions? Ask us");
    await page.click("#widget-save");
    await page.waitForSelector("#screen .notice:has-text('Widget saved')");
    await page.screenshot({ path: join(ART, "journey-5-publish.png") });
  });

  let w, shadow;
  await step("load the host page with the snippet and chat in the widget", async () => {
    // The customer's site pastes the snippet copied from the Publish screen.
    host.removeAllListeners("request");
    host.on("request", (req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme realtime</title></head>
<body style="font-family:sans-serif"><h1>Acme: our product, built on Ably</h1><p>Questions? The widget answers.</p>
${snippet}</body></html>`);
    });
    w = await context.newPage();
    w.on("pageerror", (e) => console.log("# widget page error:", e.message));
    await w.goto(hostOrigin + "/pricing");
    shadow = w.locator("#throughline-widget");
    await shadow.locator(".ltext:has-text('Questions? Ask us')").waitFor({ timeout: 15_000 });
    assert.match(await shadow.locator(".tl").getAttribute("class"), /\bleft\b/);
    assert.equal(await w.evaluate(() => getComputedStyle(document.querySelector("#throughline-widget").shadowRoot.querySelector(".bubble")).backgroundColor), "rgb(232, 71, 43)");
    await shadow.locator(".ltext").click();
    await shadow.locator(".m.greet:has-text('Ask me about Ably pricing')").waitFor();
    assert.equal(await shadow.locator(".sugg button").count(), 2);
    const r = await widgetAsk(w, "How much does the Standard package cost?");
    assert.match(r.cls, /\ba\b/, "an answer, not an error: " + r.text);
    assert.ok(r.cites > 0, "the widget's answer lists its sources: " + r.text);
    // A prospect leaves a way to follow up.
    const lead = await widgetAsk(w, "I'm dana@acme.io, we are 12 engineers");
    assert.match(lead.cls, /\ba\b/, lead.text);
    // The next qualification question is the one edited in the builder: the saved version is live.
    assert.match(lead.text, /What will you build with Ably/, lead.text);
    await w.screenshot({ path: join(ART, "journey-6-widget.png") });
  });

  await step("ask for a human; answer from the handoff screen; the reply arrives live in the widget", async () => {
    const hand = await widgetAsk(w, "", { viaHuman: true });
    assert.match(hand.cls, /\ba\b/, hand.text);
    await nav("audit");
    const card = page.locator(".handoff:has(.handoff-conversation:has-text('Standard package'))").first();
    await card.waitFor({ timeout: 15_000 });
    await card.locator("input[aria-label=reply]").fill("Hi Dana, this is Sam from Ably: I'll send you a Pro quote for 12 engineers today.");
    await card.locator("button:has-text('Reply')").click();
    await card.locator(".notice:has-text('Reply sent')").waitFor();
    // No reload of the host page: the open widget shows the reply from its session's event stream.
    await shadow.locator(".m.h:has-text('Sam from Ably')").waitFor({ timeout: 15_000 });
    await w.screenshot({ path: join(ART, "journey-7-widget-live-reply.png") });
  });

  await step("the audit shows the conversations; the Leads screen shows the lead", async () => {
    await screen("audit");
    const audit = (await apiJson(`/v1/agents/${AGENT}/audit`)).body;
    const stages = ["acquisition", "activation", "support", "expansion"];
    const total = stages.reduce((n, s) => n + (audit.stages[s]?.conversations || 0), 0);
    assert.ok(total >= 5, "the playground's four conversations and the widget's: " + JSON.stringify(audit.stages));
    for (const s of stages) assert.ok(audit.stages[s].conversations >= 1, `${s} has a conversation: ${JSON.stringify(audit.stages)}`);
    // The funnel draws the same numbers.
    const labels = await page.locator("svg.funnel text").allTextContents();
    for (const s of stages) {
      const label = s[0].toUpperCase() + s.slice(1);
      assert.ok(labels.includes(`${label} · ${audit.stages[s].conversations}`), `${label} in the funnel: ${labels.join("|")}`);
    }
    const values = await page.locator(".barrow .barvalue").allTextContents();
    const pcts = values.map((v) => /^(\d+(?:\.\d+)?)%/.exec(v)).filter(Boolean).map((m) => Number(m[1]));
    assert.ok(pcts.length > 0 && pcts.every((p) => p <= 100), "rates are shares: " + values.join("|"));
    assert.ok(await page.locator(".handoff").count() >= 1, "the widget's handoff is listed");
    await page.screenshot({ path: join(ART, "journey-8-audit.png") });

    await nav("leads");
    const row = page.locator("#leads tbody tr", { hasText: "dana@acme.io" });
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator("td").allTextContents();
    assert.ok(cells.includes("12"), "the team size: " + cells.join("|"));
    await row.locator(".open-conversation").click();
    await page.waitForSelector("#lead-conversation .transcript");
    assert.match(await page.locator("#lead-conversation").textContent(), /we are 12 engineers/);
    await page.screenshot({ path: join(ART, "journey-9-leads.png") });
    await w.close();
  });

  const wall = (Date.now() - journeyStart) / 1000;
  console.log("# steps: " + timings.map(([n, s]) => `${n} ${s.toFixed(1)} s`).join("; "));
  console.log(`journey wall time: ${Math.round(wall)} s`);
});
