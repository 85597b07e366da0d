-- wrk script: chat turns with the `bench` agent over the Railway docs as the admin, one contact per question.
local questions = {
  "how do i deploy a node app?", "my custom domain says ssl pending", "how much is the pro plan?",
  "how do I connect to postgres from my service?", "where do I set environment variables?",
  "how do cron jobs work?",
}
local i = 0
request = function()
  i = i % #questions + 1
  local body = string.format('{"contact": "load-%d", "message": "%s"}', i, questions[i])
  return wrk.format("POST", "/v1/agents/bench/chat", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("THROUGHLINE_ADMIN_TOKEN"),
  }, body)
end
