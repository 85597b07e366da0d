// Publish: the embed snippet, the public key and allowed origins, curl and OpenAI-client examples, a preview.
import { api, enc } from "../api.js";
import { el, card, errorBox, notice } from "../ui.js";

export default async function publish(ctx) {
  const root = el("div.stack");
  if (!ctx.agentsAvailable || !ctx.agent) {
    root.append(notice(ctx.agentsAvailable ? "No agent yet: create one in the Agent builder." : "Publishing is not available on this server yet (no /v1/agents).", "unavailable"));
    return root;
  }
  let agent;
  try { agent = await api(`/v1/agents/${enc(ctx.agent)}`); } catch (e) { root.append(errorBox(e, "Agent")); return root; }
  const origin = location.origin;
  const origins = el("textarea.mono#origins", { rows: 3, "aria-label": "allowed origins",
    value: (agent.allowed_origins && agent.allowed_origins.length ? agent.allowed_origins : [origin]).join("\n") });
  const msg = el("div");
  const doPublish = async () => {
    const list = origins.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
    try {
      await api(`/v1/agents/${enc(ctx.agent)}/publish`, { method: "POST", body: { allowed_origins: list } });
      await ctx.refresh(); ctx.go("publish", { t: String(Date.now()) });
    } catch (e) { msg.replaceChildren(errorBox(e, "Publish")); }
  };
  const doUnpublish = async () => {
    try { await api(`/v1/agents/${enc(ctx.agent)}/unpublish`, { method: "POST", body: {} }); await ctx.refresh(); ctx.go("publish", { t: String(Date.now()) }); }
    catch (e) { msg.replaceChildren(errorBox(e, "Unpublish")); }
  };
  root.append(card("Status",
    el("div.row.key-row", el("span.pill" + (agent.published ? ".ok" : ""), { id: "publish-status" }, agent.published ? "published" : "not published"),
      agent.public_key ? el("span", "public key ", el("code#public-key", agent.public_key)) : null),
    el("label.field", { style: { marginTop: "12px" } }, "Allowed origins (sites that may embed the widget; one per line)", origins),
    el("p.muted.small", `The preview below runs on ${origin}: keep it in the list to try the widget here.`),
    el("div.row",
      el("button.primary#publish", { type: "button", on: { click: doPublish } }, agent.published ? "Update origins" : "Publish"),
      agent.published ? el("button.danger", { type: "button", on: { click: doUnpublish } }, "Unpublish") : null),
    msg));
  if (!agent.published || !agent.public_key) {
    root.append(notice("Publish the agent to get its public key, the embed snippet and the preview.", "info"));
    return root;
  }
  const key = agent.public_key;
  const snippet = `<script src="${origin}/widget.js" data-agent="${agent.name}" data-key="${key}"></script>`;
  const copy = (text) => el("button.small", { type: "button", on: { click: (e) => { navigator.clipboard && navigator.clipboard.writeText(text); e.target.textContent = "Copied"; } } }, "Copy");
  root.append(card("Embed on your site", el("p.muted.small", "Paste before </body> on any page of an allowed origin:"), el("pre#snippet", snippet), copy(snippet)));

  root.append(await widgetCard(ctx));

  // The examples ask about this agent's own product (its configuration names it), not the demo's.
  const product = String((agent.config || {}).product || agent.name).replace(/["'\\$`]/g, "");
  const askPrice = `How much does ${product} cost?`;
  const askStart = `How do I get started with ${product}?`;
  const curl = `# A visitor session (the server mints it), then a question, streamed
SES=$(curl -s ${origin}/v1/agents/${agent.name}/sessions -H 'X-Throughline-Key: ${key}' \\
  -H 'Origin: ${(agent.allowed_origins || [])[0] || origin}' -H 'content-type: application/json' -d '{}' | jq -r .session)
curl -sN ${origin}/v1/agents/${agent.name}/chat -H 'X-Throughline-Key: ${key}' -H "X-Throughline-Session: $SES" \\
  -H 'Origin: ${(agent.allowed_origins || [])[0] || origin}' -H 'content-type: application/json' \\
  -d '{"message": "${askPrice}", "stream": true}'`;
  const py = `from openai import OpenAI

client = OpenAI(base_url="${origin}/v1", api_key="YOUR_ADMIN_TOKEN")
reply = client.chat.completions.create(
    model="${agent.name}",
    messages=[{"role": "user", "content": "${askStart}"}],
)
print(reply.choices[0].message.content)`;
  root.append(el("div.grid.cols-2",
    card("curl", el("pre.small#example-curl", curl), copy(curl)),
    card("OpenAI client (Python)", el("pre.small#example-openai", py), copy(py))));
  const src = `/preview.html?agent=${enc(agent.name)}&key=${enc(key)}`;
  root.append(card("Preview", el("p.muted.small", "A page with the widget on it, as a visitor sees it. ", el("a", { href: src, target: "_blank", rel: "noopener" }, "Open in a new tab ↗")),
    el("iframe.preview-frame#preview", { src, title: "widget preview" })));
  return root;
}

/** Widget customisation: greeting, suggested questions, colour, position, avatar and launcher text,
 * saved with PUT /v1/agents/{agent}/widget and read by widget.js from /widget-config. */
async function widgetCard(ctx) {
  let w = {};
  try { w = await api(`/v1/agents/${enc(ctx.agent)}/widget`); } catch (e) { return card("Widget", errorBox(e, "Widget settings")); }
  const field = (label, input) => el("label.field", label, input);
  const title = el("input#widget-title", { value: w.title || "", placeholder: "Ask us anything", maxlength: 80 });
  const greeting = el("textarea#widget-greeting", { rows: 2, value: w.greeting || "", placeholder: "Hi! How can we help?", maxlength: 500 });
  const suggestions = el("textarea#widget-suggestions", { rows: 3, value: (w.suggestions || []).join("\n"), placeholder: "One question per line (up to 6)" });
  const color = el("input#widget-color", { type: "color", value: w.color || "#3b5bdb" });
  const position = el("select#widget-position", el("option", { value: "right" }, "Bottom right"), el("option", { value: "left" }, "Bottom left"));
  position.value = w.position === "left" ? "left" : "right";
  const avatar = el("input#widget-avatar", { value: w.avatar_url || "", placeholder: "https://…/avatar.png", type: "url" });
  const launcher = el("input#widget-launcher", { value: w.launcher_text || "", placeholder: "e.g. Chat with us", maxlength: 40 });
  const msg = el("div");
  const save = async () => {
    const body = {
      title: title.value, greeting: greeting.value,
      suggestions: suggestions.value.split("\n").map((x) => x.trim()).filter(Boolean),
      color: color.value, position: position.value, avatar_url: avatar.value.trim(), launcher_text: launcher.value,
    };
    try {
      await api(`/v1/agents/${enc(ctx.agent)}/widget`, { method: "PUT", body });
      msg.replaceChildren(notice("Widget saved: pages with the widget show it on their next load.", "info"));
      const frame = document.getElementById("preview");
      if (frame) frame.src = frame.src;
    } catch (e) { msg.replaceChildren(errorBox(e, "Widget settings")); }
  };
  return card("Widget",
    el("p.muted.small", "What visitors see before they ask: the widget reads these settings when a page loads."),
    el("div.grid.cols-2", field("Title", title), field("Launcher text (beside the bubble)", launcher),
      field("Colour", color), field("Position", position)),
    field("Greeting", greeting), field("Suggested questions", suggestions), field("Avatar URL", avatar),
    el("div.row", el("button.primary#widget-save", { type: "button", on: { click: save } }, "Save widget")), msg);
}
