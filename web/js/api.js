// The HTTP API client of the builder UI: admin token, JSON calls, Server-Sent Events over fetch.
const TOKEN_KEY = "throughline.token";

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY) || "",
  set: (v) => localStorage.setItem(TOKEN_KEY, v),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** An API failure; `unavailable` is true when the endpoint itself does not exist (yet) on this server. */
export class ApiError extends Error {
  constructor(status, code, message, field, unavailable = false) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.unavailable = unavailable;
  }
}

function headersFor(extra, json) {
  const h = Object.assign({}, extra || {});
  const t = token.get();
  if (t && !h.Authorization) h.Authorization = "Bearer " + t;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

/** Turns a non-OK (or non-JSON) response into an ApiError. */
async function failure(res, path) {
  const type = res.headers.get("content-type") || "";
  let body = null;
  if (type.includes("json")) body = await res.json().catch(() => null);
  const err = body && body.error ? body.error : null;
  // An unknown /v1 route answers 404 with a "file" not found, 405, 501, or (with the web fallback) HTML.
  const unavailable =
    res.status === 501 || res.status === 405 || !type.includes("json") ||
    (res.status === 404 && (!err || /\bfile\b|route|endpoint/i.test(err.message || "")));
  if (unavailable) {
    return new ApiError(res.status, "not_available",
      `This server does not offer ${path.split("?")[0]} yet (HTTP ${res.status}).`, null, true);
  }
  return new ApiError(res.status, (err && err.code) || "http_" + res.status,
    (err && err.message) || res.statusText || "HTTP " + res.status, err && err.field);
}

/** Calls the API. `body` is sent as JSON, `form` as multipart. Returns the parsed JSON ({} for 204). */
export async function api(path, { method = "GET", body, form, headers, signal, raw = false } = {}) {
  const init = { method, headers: headersFor(headers, body !== undefined), signal };
  if (form) init.body = form;
  else if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(path, init);
  if (raw) {
    if (!res.ok) throw await failure(res, path);
    return res;
  }
  if (res.status === 204) return {};
  const type = res.headers.get("content-type") || "";
  if (!res.ok || !type.includes("json")) throw await failure(res, path);
  return res.json();
}

/** Reads a text/event-stream response body: yields {event, data} with data parsed as JSON when it is. */
export async function* readSSE(res) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let at;
    while ((at = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at).replace(/^\r?\n\r?\n/, "");
      let event = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (!data.length) continue;
      const text = data.join("\n");
      let parsed = text;
      try { parsed = JSON.parse(text); } catch { /* plain text */ }
      yield { event, data: parsed };
    }
  }
}

/** Opens an SSE stream with the admin token (EventSource cannot send headers). */
export async function stream(path, { method = "GET", body, signal } = {}) {
  const res = await api(path, { method, body, signal, raw: true, headers: { Accept: "text/event-stream" } });
  return res;
}

export const enc = encodeURIComponent;
