// The OpenAI-compatible endpoint, driven by the official `openai` Node SDK as a real client, unmodified.
// Run by tests/clients/run.sh against a live server (THROUGHLINE_URL, THROUGHLINE_ADMIN_TOKEN) whose data
// directory was initialised with the sample knowledge base and the published `demo` agent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import OpenAI from 'openai';

const BASE = process.env.THROUGHLINE_URL.replace(/\/$/, '') + '/v1';
const client = new OpenAI({ baseURL: BASE, apiKey: process.env.THROUGHLINE_ADMIN_TOKEN, maxRetries: 0 });
const ask = (content) => [{ role: 'user', content }];

test('a completion answers with its sources and finish_reason stop', async () => {
  const reply = await client.chat.completions.create({ model: 'demo', messages: ask('How do I reset my password?'), user: 'node-client' });
  assert.equal(reply.object, 'chat.completion');
  assert.equal(reply.choices[0].finish_reason, 'stop');
  assert.match(reply.choices[0].message.content, /\[1\]/);
  assert.match(reply.choices[0].message.content, /reset-password/);
  assert.ok(reply.usage.prompt_tokens > 0 && reply.usage.completion_tokens > 0, JSON.stringify(reply.usage));
  assert.equal(reply.usage.total_tokens, reply.usage.prompt_tokens + reply.usage.completion_tokens);
});

test('a streamed completion adds up to the answer, and include_usage sends the usage last', async () => {
  const stream = await client.chat.completions.create({
    model: 'demo', messages: ask('How much does the Team plan cost per month?'), stream: true, stream_options: { include_usage: true },
  });
  let text = '', finish = null, usage = null;
  for await (const chunk of stream) {
    if (chunk.choices?.[0]?.delta?.content) text += chunk.choices[0].delta.content;
    if (chunk.choices?.[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
    if (chunk.usage) { usage = chunk.usage; assert.deepEqual(chunk.choices, [], 'the usage chunk has no choices'); }
  }
  assert.equal(finish, 'stop');
  assert.match(text, /\$79/);
  assert.ok(usage && usage.completion_tokens > 0, JSON.stringify(usage));
});

test('the earlier turns in messages are the conversation', async () => {
  const follow = await client.chat.completions.create({
    model: 'demo',
    messages: [
      { role: 'user', content: 'Tell me about the Team plan' },
      { role: 'assistant', content: 'The Team plan is for growing teams [1].' },
      { role: 'user', content: 'how much is it?' },
    ],
  });
  assert.match(follow.choices[0].message.content, /\$79/);
  const alone = await client.chat.completions.create({ model: 'demo', messages: ask('how much is it?') });
  assert.ok(follow.usage.prompt_tokens > alone.usage.prompt_tokens, 'the history is counted as prompt');
});

test('max_tokens cuts the answer with finish_reason length', async () => {
  const short = await client.chat.completions.create({ model: 'demo', messages: ask('How do I reset my password?'), max_tokens: 8 });
  assert.equal(short.choices[0].finish_reason, 'length');
  assert.ok(short.usage.completion_tokens >= 1 && short.usage.completion_tokens <= 8, JSON.stringify(short.usage));
});

test('models list and retrieve the published agents', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.ok(ids.includes('demo'), ids.join(','));
  const demo = await client.models.retrieve('demo');
  assert.equal(demo.id, 'demo');
  assert.equal(demo.object, 'model');
  await assert.rejects(client.models.retrieve('nope'), (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
});

test('what an agent cannot do is a 400 naming the parameter', async () => {
  for (const [param, extra] of [
    ['n', { n: 2 }],
    ['tools', { tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }] }],
    ['response_format', { response_format: { type: 'json_object' } }],
  ]) {
    await assert.rejects(client.chat.completions.create({ model: 'demo', messages: ask('hi'), ...extra }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `${param}: ${e}`);
      assert.equal(e.param, param);
      assert.equal(e.type, 'invalid_request_error');
      return true;
    });
  }
});

test('an unknown model, an unsupported route and a wrong key are the errors the SDK raises', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'nope', messages: ask('hi') }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, String(e));
    assert.equal(e.code, 'model_not_found');
    assert.match(e.message, /nope/);
    return true;
  });
  await assert.rejects(client.responses.create({ model: 'demo', input: 'hi' }), (e) => e instanceof OpenAI.NotFoundError);
  const wrong = new OpenAI({ baseURL: BASE, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(wrong.chat.completions.create({ model: 'demo', messages: ask('hi') }), (e) => e instanceof OpenAI.AuthenticationError);
});
