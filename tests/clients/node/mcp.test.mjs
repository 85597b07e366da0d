// The MCP server at /mcp, driven by the official MCP TypeScript SDK (Streamable HTTP) as a real client.
// Run by tests/clients/run.sh against a live server (THROUGHLINE_URL, THROUGHLINE_ADMIN_TOKEN).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';

const URL_ = new URL(process.env.THROUGHLINE_URL.replace(/\/$/, '') + '/mcp');

async function connect(token) {
  const client = new Client({ name: 'throughline-node-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(URL_, { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return client;
}

test('tools declare their schemas and annotations, and search answers structured content', async () => {
  const client = await connect(process.env.THROUGHLINE_ADMIN_TOKEN);
  try {
    assert.equal(client.getServerVersion().name, 'throughline');
    const { tools } = await client.listTools();
    const search = tools.find((t) => t.name === 'search');
    assert.ok(search, tools.map((t) => t.name).join(','));
    assert.equal(search.annotations.readOnlyHint, true);
    assert.equal(search.outputSchema.type, 'object');
    // The SDK checks structuredContent against the tool's outputSchema itself.
    const result = await client.callTool({ name: 'search', arguments: { kb: 'sample', query: 'slack alerts stopped arriving', limit: 3 } });
    assert.ok(!result.isError, JSON.stringify(result));
    assert.equal(result.structuredContent.hits[0].path, 'help/slack-alerts-stopped.md');
    assert.ok(result.structuredContent.hits.length <= 3);
    assert.match(result.content[0].text, /Slack alerts stopped working/);

    const missing = await client.callTool({ name: 'search', arguments: { kb: 'nope', query: 'x' } });
    assert.equal(missing.isError, true);
    assert.match(missing.content[0].text, /`nope`/);

    if (tools.some((t) => t.name === 'ask')) {
      const answer = await client.callTool({ name: 'ask', arguments: { agent: 'demo', question: 'How do I reset my password?' } });
      assert.ok(!answer.isError, JSON.stringify(answer));
      assert.match(answer.content[0].text, /\[1\]/);
      assert.ok(Array.isArray(answer.structuredContent.citations));
    }
  } finally {
    await client.close();
  }
});

test('arguments the input schema forbids are refused with invalid params', async () => {
  const client = await connect(process.env.THROUGHLINE_ADMIN_TOKEN);
  try {
    for (const args of [{ query: 'x', limit: 0 }, { query: 'x', limit: 21 }, { query: 'x', limit: '3' }, { query: 'x', limit: 2.5 }, { query: 'x', kb: 7 }, { kb: 'sample' }]) {
      await assert.rejects(client.callTool({ name: 'search', arguments: args }), (e) => {
        assert.ok(e instanceof McpError, `${JSON.stringify(args)}: ${e}`);
        assert.equal(e.code, ErrorCode.InvalidParams, JSON.stringify(args));
        return true;
      });
    }
  } finally {
    await client.close();
  }
});

test('a wrong token is refused with 401 and WWW-Authenticate', async () => {
  await assert.rejects(connect('wrong'), (e) => /401|Unauthorized/i.test(String(e)) || e.name === 'UnauthorizedError');
  const res = await fetch(URL_, {
    method: 'POST',
    headers: { Authorization: 'Bearer wrong', 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
  });
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
});
