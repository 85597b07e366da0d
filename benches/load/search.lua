-- wrk script: hybrid search on the sample knowledge base, rotating through customer questions.
local questions = {
  "how much is the team plan", "slack alerts stopped working", "can we log in with okta",
  "what happens when I hit the monitor limit", "how do I invite a teammate", "refund policy",
  "reset my password", "status page custom domain",
}
local i = 0
request = function()
  i = i % #questions + 1
  local body = string.format('{"q": "%s", "limit": 10}', questions[i])
  return wrk.format("POST", "/v1/kbs/sample/search", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("THROUGHLINE_ADMIN_TOKEN"),
  }, body)
end
