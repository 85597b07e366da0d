/*! Throughline chat widget. One tag adds it to any page:
 *  <script src="https://HOST/widget.js" data-agent="demo" data-key="pk_..."></script>
 *  (signed-in users: add data-user-id="42" data-user-hash="HMAC-SHA256 hex of 42 under the identity secret")
 * Every piece of server data reaches the page as text (textContent), never as HTML; links only to the
 * http(s) URLs the server returned as citations. Optional voice (Web Speech API), text otherwise. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__throughlineWidget) return;
  window.__throughlineWidget = true;
  var agent = script.getAttribute("data-agent") || "demo";
  var key = script.getAttribute("data-key") || "";
  var base = (script.getAttribute("data-api") || new URL(script.src, location.href).origin).replace(/\/$/, "");
  var title = script.getAttribute("data-title") || "Ask us anything";
  // A signed-in user, vouched for by the host site: data-user-id (or data-user-email) and data-user-hash,
  // the hex HMAC-SHA256 of it under the agent's identity secret, computed by the site's backend.
  var userId = script.getAttribute("data-user-id");
  var userEmail = script.getAttribute("data-user-email");
  var userHash = script.getAttribute("data-user-hash");
  var storeKey = "throughline.session." + base + "." + agent + (userHash ? "." + (userId || userEmail) : "");

  function h(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  var ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3",
  };
  function icon(name) {
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(NS, "path");
    path.setAttribute("d", ICONS[name]);
    path.setAttribute("fill", name === "chat" ? "currentColor" : "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("stroke-linecap", "round");
    svg.appendChild(path);
    return svg;
  }
  function setIcon(btn, name) { btn.textContent = ""; btn.appendChild(icon(name)); }
  function safeUrl(u) {
    try {
      var url = new URL(String(u));
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  var host = h("div");
  host.id = "throughline-widget";
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var style = h("style");
  style.textContent = [
    ":host{all:initial}",
    ".tl{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2330}",
    ".bubble{width:56px;height:56px;border-radius:50%;border:0;background:var(--tl-accent,#3b5bdb);color:#fff;display:flex;align-items:center;justify-content:center;margin-left:auto;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);float:right}",
    ".panel{display:none;flex-direction:column;width:min(370px,calc(100vw - 24px));height:min(540px,calc(100vh - 110px));background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.25);margin-bottom:12px;overflow:hidden}",
    ".open .panel{display:flex}",
    ".head{background:var(--tl-accent,#3b5bdb);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}",
    ".head b{flex:1}",
    ".head button{background:rgba(255,255,255,.18);border:0;color:#fff;border-radius:6px;padding:4px 8px;cursor:pointer;font:inherit;font-size:12px}",
    ".msgs{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f7f8fa}",
    ".m{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".u{align-self:flex-end;background:var(--tl-accent,#3b5bdb);color:#fff}",
    ".a{align-self:flex-start;background:#fff;border:1px solid #e4e7ec}",
    ".h{align-self:flex-start;background:#fff8e1;border:1px solid #f5d98b}",
    ".h::before{content:'Team';display:block;font-size:11px;font-weight:600;color:#8a6d1d}",
    ".s{align-self:center;font-size:12px;color:#667085;text-align:center}",
    ".src{margin:6px 0 0;padding-left:18px;font-size:12px;white-space:normal}",
    ".src a{color:var(--tl-accent,#3b5bdb)}",
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e4e7ec}",
    "input{flex:1;min-width:0;padding:8px 10px;border:1px solid #d0d5dd;border-radius:8px;font:inherit}",
    "form button{border:0;background:var(--tl-accent,#3b5bdb);color:#fff;border-radius:8px;padding:0 12px;cursor:pointer;font:inherit}",
    "form button.mic{background:#eef0f3;color:#1d2330;display:flex;align-items:center}",
    "form button.mic.on{background:#e03131;color:#fff}",
    ".tl.left{right:auto;left:20px}",
    ".tl.left .bubble{float:left;margin-left:0}",
    ".launch{display:flex;align-items:center;gap:8px;justify-content:flex-end;clear:both}",
    ".tl.left .launch{justify-content:flex-start;flex-direction:row-reverse}",
    ".ltext{background:#fff;color:#1d2330;border-radius:16px;padding:6px 12px;box-shadow:0 4px 14px rgba(0,0,0,.18);cursor:pointer;border:0;font:inherit}",
    ".ltext:empty{display:none}",
    ".av{width:28px;height:28px;border-radius:50%;object-fit:cover;background:#fff}",
    ".sugg{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px;background:#f7f8fa}",
    ".sugg button{border:1px solid var(--tl-accent,#3b5bdb);color:var(--tl-accent,#3b5bdb);background:#fff;border-radius:14px;padding:4px 10px;cursor:pointer;font:inherit;font-size:12px}",
    ".hint{align-self:stretch;background:#fff4e5;border:1px solid #f5b971;color:#7a4b00;border-radius:10px;padding:8px 11px;font-size:12px}",
    ".human{font-size:12px;border:0;background:none;color:var(--tl-accent,#3b5bdb);cursor:pointer;padding:0 12px 8px;text-align:left}",
  ].join("\n");
  var wrap = h("div", "tl");
  var panel = h("div", "panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var head = h("div", "head");
  head.appendChild(h("b", null, title));
  var voiceBtn = h("button", null, "Voice off");
  voiceBtn.type = "button";
  var closeBtn = h("button", null, "Close");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", "close");
  head.appendChild(voiceBtn);
  head.appendChild(closeBtn);
  var msgs = h("div", "msgs");
  msgs.setAttribute("aria-live", "polite");
  var humanBtn = h("button", "human", "Talk to a human");
  humanBtn.type = "button";
  var form = h("form");
  var input = h("input");
  input.placeholder = "Type your question\u2026";
  input.setAttribute("aria-label", "your message");
  var mic = h("button", "mic");
  setIcon(mic, "mic");
  mic.type = "button";
  mic.setAttribute("aria-label", "speak");
  var send = h("button", null, "Send");
  send.type = "submit";
  form.appendChild(input);
  var Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (Recognition) form.appendChild(mic);
  form.appendChild(send);
  panel.appendChild(head);
  panel.appendChild(msgs);
  panel.appendChild(humanBtn);
  panel.appendChild(form);
  var bubble = h("button", "bubble");
  setIcon(bubble, "chat");
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Open chat");
  var launcherText = h("button", "ltext");
  launcherText.type = "button";
  var launch = h("div", "launch");
  launch.appendChild(launcherText);
  launch.appendChild(bubble);
  var sugg = h("div", "sugg");
  panel.insertBefore(sugg, humanBtn);
  wrap.appendChild(panel);
  wrap.appendChild(launch);
  // A constructed stylesheet where the browser has them: a page whose Content-Security-Policy forbids
  // inline styles (no 'unsafe-inline') still styles the widget. A <style> element otherwise.
  var sheet = null;
  try {
    if (root !== host && "adoptedStyleSheets" in root && window.CSSStyleSheet) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(style.textContent);
      root.adoptedStyleSheets = [sheet];
    }
  } catch (e) { sheet = null; }
  if (!sheet) root.appendChild(style);
  root.appendChild(wrap);

  var session = null;
  try { session = localStorage.getItem(storeKey); } catch (e) { /* storage blocked */ }
  var settings = {};
  var originProblem = null; // why this page may not use the chat (a wrong origin, a wrong key), from the server

  /* The widget settings of the Publish screen (greeting, suggestions, colour, position, avatar,
   * launcher text). The key goes in the query: a simple request, so a refusal is readable here. */
  var configLoaded = fetch(base + "/v1/agents/" + encodeURIComponent(agent) + "/widget-config?key=" + encodeURIComponent(key))
    .then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var e = j && j.error || {};
          if (e.code === "origin_not_allowed" || r.status === 401) originProblem = e.message || ("HTTP " + r.status);
          return;
        }
        apply(j.widget || {});
      });
    })
    .catch(function () { /* unreachable: reported when the visitor asks */ });

  function apply(w) {
    settings = w;
    if (/^#[0-9a-f]{6}$/i.test(w.color || "")) wrap.style.setProperty("--tl-accent", w.color);
    wrap.classList.toggle("left", w.position === "left");
    if (w.title && !script.getAttribute("data-title")) {
      head.querySelector("b").textContent = w.title;
      panel.setAttribute("aria-label", w.title);
    }
    launcherText.textContent = w.launcher_text || "";
    var avatar = safeUrl(w.avatar_url);
    if (avatar && !head.querySelector("img")) {
      var img = h("img", "av");
      img.src = avatar;
      img.alt = "";
      img.referrerPolicy = "no-referrer";
      head.insertBefore(img, head.firstChild);
    }
    renderSuggestions();
  }
  function renderSuggestions() {
    sugg.textContent = "";
    if (msgs.querySelector(".u")) return; // only before the first question
    (settings.suggestions || []).forEach(function (q) {
      var b = h("button", null, q);
      b.type = "button";
      b.addEventListener("click", function () { ask(q); });
      sugg.appendChild(b);
    });
  }
  function greet() {
    if (originProblem && !msgs.querySelector(".hint")) {
      // Not a message (.m): a banner above them, naming the origin problem.
      var m = h("div", "hint", "This chat cannot run on " + location.origin + ": " + originProblem);
      m.setAttribute("role", "alert");
      msgs.insertBefore(m, msgs.firstChild);
    }
    if (settings.greeting && !msgs.querySelector(".m")) say("a greet", settings.greeting);
    renderSuggestions();
  }
  var loaded = false;
  var voice = false;
  if (!("speechSynthesis" in window)) voiceBtn.style.display = "none";

  function headers(extra) {
    var o = { "X-Throughline-Key": key };
    if (session) o["X-Throughline-Session"] = session;
    for (var k in extra || {}) o[k] = extra[k];
    return o;
  }
  function scroll() { msgs.scrollTop = msgs.scrollHeight; }
  function say(cls, text) { var m = h("div", "m " + cls, text); msgs.appendChild(m); scroll(); return m; }

  /** Renders an answer: plain text (no Markdown, no HTML), then the citations the server returned. */
  function renderAnswer(el, text, citations) {
    el.textContent = text || "";
    var list = (citations || []).filter(function (c) { return c && (c.title || c.url || c.path); });
    if (!list.length) return;
    var ol = h("ol", "src");
    list.forEach(function (c) {
      var li = h("li");
      if (c.n) li.value = Number(c.n) || undefined;
      var url = safeUrl(c.url);
      if (url) {
        var a = h("a", null, c.title || url);
        a.href = url;
        a.target = "_blank";
        a.rel = "noopener noreferrer nofollow";
        li.appendChild(a);
      } else li.textContent = c.title || c.path;
      ol.appendChild(li);
    });
    el.appendChild(ol);
  }

  function newSession() {
    return fetch(base + "/v1/agents/" + encodeURIComponent(agent) + "/sessions", {
      method: "POST", headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(userHash ? { user_id: userId || undefined, email: userEmail || undefined, user_hash: userHash } : {}),
    }).then(function (r) {
      if (!r.ok) throw new Error("the chat is unavailable (HTTP " + r.status + ")");
      return r.json();
    }).then(function (j) {
      session = j.session;
      try { localStorage.setItem(storeKey, session); } catch (e) { /* ignore */ }
      return session;
    });
  }

  function loadHistory() {
    if (loaded) return Promise.resolve();
    loaded = true;
    if (!session) return Promise.resolve();
    return fetch(base + "/v1/agents/" + encodeURIComponent(agent) + "/sessions/" + encodeURIComponent(session) + "/messages", { headers: headers() })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.status === 404) { session = null; return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (j) {
        (j && j.messages || []).forEach(function (m) {
          if (m.role === "user") say("u", m.text);
          else if (m.role === "human") say("h", m.text);
          else renderAnswer(say("a", ""), m.text, m.citations);
        });
      })
      .catch(function () { /* history is optional */ })
      .then(function () { listen(); });
  }

  /* Live events of the session (a human's reply from the handoff screen), read while the panel is
   * open: fetch + the SSE reader, because EventSource cannot send the key header. */
  var listening = null;
  function listen() {
    if (listening || !session || !wrap.classList.contains("open") || !window.AbortController) return;
    var ctrl = new AbortController();
    listening = ctrl;
    fetch(base + "/v1/agents/" + encodeURIComponent(agent) + "/sessions/" + encodeURIComponent(session) + "/events", {
      headers: headers({ Accept: "text/event-stream" }), signal: ctrl.signal,
    }).then(function (r) {
      // A refused session (forgotten, foreign, or this origin no longer allowed): stop listening.
      if (r.status === 401 || r.status === 403 || r.status === 404) { ctrl.abort(); return; }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return readStream(r, function (ev, d) {
        if (ev === "reply" && d && d.text) say("h", d.text);
        else if (ev === "server_stopping") return false;
      });
    }).catch(function () { /* closed, or the server stopped */ }).then(function () {
      if (listening !== ctrl) return;
      listening = null;
      if (!ctrl.signal.aborted) setTimeout(listen, 3000);
    });
  }
  function unlisten() { if (listening) { var c = listening; listening = null; c.abort(); } }

  function readStream(res, onEvent) {
    var reader = res.body.getReader();
    var dec = new TextDecoder();
    var buf = "";
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) return;
        buf += dec.decode(r.value, { stream: true });
        var at;
        while ((at = buf.search(/\r?\n\r?\n/)) >= 0) {
          var block = buf.slice(0, at);
          buf = buf.slice(at).replace(/^\r?\n\r?\n/, "");
          var ev = "message", data = [];
          block.split(/\r?\n/).forEach(function (line) {
            if (line.indexOf("event:") === 0) ev = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
          });
          if (!data.length) continue;
          var d;
          try { d = JSON.parse(data.join("\n")); } catch (e) { d = { text: data.join("\n") }; }
          if (onEvent(ev, d) === false) return;
        }
        return pump();
      });
    }
    return pump();
  }

  function ask(text) {
    sugg.textContent = "";
    say("u", text);
    var out = say("a", "\u2026");
    send.disabled = true;
    var ensure = session ? Promise.resolve(session) : newSession().then(function (s) { listen(); return s; });
    /* A busy server answers 503 (or 429) with Retry-After: say so, wait, and ask again (a few times). */
    function post(attempt) {
      return fetch(base + "/v1/agents/" + encodeURIComponent(agent) + "/chat", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
        body: JSON.stringify({ message: text, stream: true }),
      }).then(function (res) {
        if ((res.status !== 503 && res.status !== 429) || attempt >= 5) return res;
        return res.json().catch(function () { return {}; }).then(function (j) {
          var e = j && j.error || {};
          var secs = Number(e.retry_after || res.headers.get("Retry-After")) || 2;
          secs = Math.min(Math.max(secs, 1), 30);
          out.setAttribute("data-busy", "1");
          out.textContent = "The assistant is busy, retrying in " + secs + " s\u2026";
          return new Promise(function (r) { setTimeout(r, secs * 1000); }).then(function () {
            out.textContent = "\u2026";
            return post(attempt + 1);
          });
        });
      });
    }
    return ensure.then(function () { return post(1); }).then(function (res) {
      if (res.status === 401 || res.status === 403) { session = null; try { localStorage.removeItem(storeKey); } catch (e) { /* */ } }
      if (res.status === 503 || res.status === 429) throw new Error("the assistant is too busy right now; please ask again in a minute");
      if (!res.ok) throw new Error("the agent could not answer (HTTP " + res.status + ")");
      var acc = "", turn = null;
      var type = res.headers.get("content-type") || "";
      var done = type.indexOf("text/event-stream") >= 0
        ? readStream(res, function (ev, d) {
          if (ev === "delta") { acc += d.text || ""; out.textContent = acc; scroll(); }
          else if (ev === "turn") turn = d;
          else if (ev === "server_stopping" && !turn) turn = { answer: acc || "The server is restarting; please ask again in a few seconds.", citations: [] };
          else if (ev === "done") return false;
        })
        : res.json().then(function (j) { turn = j; });
      return done.then(function () {
        var answer = turn ? turn.answer : acc;
        renderAnswer(out, answer, turn && turn.citations);
        out.setAttribute("data-done", "1");
        if (turn && turn.handoff) say("s", "A person from the team will follow up here.");
        if (voice && answer && window.speechSynthesis) {
          var u = new SpeechSynthesisUtterance(answer.replace(/\[\d+\]/g, ""));
          window.speechSynthesis.speak(u);
        }
      });
    }).catch(function (e) {
      out.className = "m s";
      out.setAttribute("data-done", "1");
      if (originProblem) { out.className = "m s hint"; out.textContent = "Sorry, this chat cannot run on " + location.origin + ": " + originProblem; return; }
      var msg = e && e.message ? e.message : "something went wrong";
      // A network error (no answer, or one the browser hid because CORS refused this origin).
      if (e instanceof TypeError) {
        out.className = "m s hint";
        msg = "the chat server " + base + " could not be reached from " + location.origin +
          " (it is down, or this origin is not among the agent's allowed origins on the Publish screen)";
      }
      out.textContent = "Sorry, " + msg + ".";
    }).then(function () { send.disabled = false; scroll(); });
  }

  function toggle(open) {
    var willOpen = open === undefined ? !wrap.classList.contains("open") : open;
    wrap.classList.toggle("open", willOpen);
    setIcon(bubble, willOpen ? "close" : "chat");
    bubble.setAttribute("aria-label", willOpen ? "Close chat" : "Open chat");
    if (willOpen) {
      configLoaded.then(function () { return loadHistory(); }).then(greet);
      listen();
      input.focus();
    } else unlisten();
  }
  bubble.addEventListener("click", function () { toggle(); });
  launcherText.addEventListener("click", function () { toggle(true); });
  closeBtn.addEventListener("click", function () { toggle(false); });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var t = input.value.trim();
    if (!t) return;
    input.value = "";
    ask(t);
  });
  humanBtn.addEventListener("click", function () { ask("I would like to talk to a human, please."); });
  voiceBtn.addEventListener("click", function () {
    voice = !voice;
    voiceBtn.textContent = voice ? "Voice on" : "Voice off";
    if (!voice && window.speechSynthesis) window.speechSynthesis.cancel();
  });
  if (Recognition) {
    var rec = null;
    mic.addEventListener("click", function () {
      if (rec) { rec.stop(); return; }
      rec = new Recognition();
      rec.lang = document.documentElement.lang || "en-US";
      rec.interimResults = false;
      mic.classList.add("on");
      rec.onresult = function (e) {
        var t = e.results[0] && e.results[0][0] ? e.results[0][0].transcript : "";
        if (t) { voice = true; voiceBtn.textContent = "Voice on"; ask(t); }
      };
      rec.onend = rec.onerror = function () { mic.classList.remove("on"); rec = null; };
      rec.start();
    });
  }
  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.Throughline = { open: function () { toggle(true); }, close: function () { toggle(false); }, ask: function (t) { toggle(true); return ask(t); } };
})();
