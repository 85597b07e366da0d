-- wrk script: chat turns with the demo agent as the admin, one contact per connection-thread.
local questions = {
  "How much is the Team plan?", "My Slack alerts stopped working", "Can we log in with Okta?",
  "How do I create my first monitor?", "Can I get a refund?", "How do I reset my password?",
}
local i = 0
request = function()
  i = i % #questions + 1
  local body = string.format('{"contact": "load-%d", "message": "%s"}', i, questions[i])
  return wrk.format("POST", "/v1/agents/demo/chat", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("THROUGHLINE_ADMIN_TOKEN"),
  }, body)
end
