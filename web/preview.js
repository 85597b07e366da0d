// Loads the widget with the agent and key from the query string (the page's own origin must be allowed).
(function () {
  var q = new URLSearchParams(location.search);
  var s = document.createElement("script");
  s.src = "/widget.js";
  s.setAttribute("data-agent", q.get("agent") || "demo");
  s.setAttribute("data-key", q.get("key") || "");
  document.body.appendChild(s);
})();
