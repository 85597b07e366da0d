-- wrk script: hybrid search of the Railway docs, rotating through customer questions.
local questions = {
  "how do i deploy a node app", "custom domain ssl not working", "how much does the pro plan cost",
  "connect to postgres from my service", "set environment variables", "my build fails with out of memory",
  "private networking between services", "how do cron jobs work",
}
local i = 0
request = function()
  i = i % #questions + 1
  local body = string.format('{"q": "%s", "limit": 10}', questions[i])
  return wrk.format("POST", "/v1/kbs/railway/search", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("THROUGHLINE_ADMIN_TOKEN"),
  }, body)
end
