"""The OpenAI-compatible endpoint, driven by the official `openai` Python package as a real client.

Run by tests/clients/run.sh against a live server (THROUGHLINE_URL, THROUGHLINE_ADMIN_TOKEN) whose data
directory was initialised with the sample knowledge base and the published `demo` agent.
"""
import os

import openai
from openai import OpenAI

BASE = os.environ["THROUGHLINE_URL"].rstrip("/") + "/v1"
TOKEN = os.environ["THROUGHLINE_ADMIN_TOKEN"]

client = OpenAI(base_url=BASE, api_key=TOKEN)

# Non-streaming.
reply = client.chat.completions.create(
    model="demo",
    messages=[{"role": "user", "content": "How do I reset my password?"}],
    user="python-client",
)
text = reply.choices[0].message.content
assert reply.choices[0].finish_reason == "stop", reply
assert "[1]" in text and "reset-password" in text, text

# Streaming: the pieces add up to an answer with its sources.
stream = client.chat.completions.create(
    model="demo",
    messages=[{"role": "user", "content": "How much does the Team plan cost per month?"}],
    stream=True,
    user="python-client",
)
pieces = []
finish = None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
    if chunk.choices and chunk.choices[0].finish_reason:
        finish = chunk.choices[0].finish_reason
streamed = "".join(pieces)
assert finish == "stop", finish
assert "$79" in streamed, streamed

# The conversation is `messages`: a follow-up reads the earlier turns the client sent.
follow = client.chat.completions.create(
    model="demo",
    messages=[
        {"role": "user", "content": "Tell me about the Team plan"},
        {"role": "assistant", "content": "The Team plan is for growing teams [1]."},
        {"role": "user", "content": "how much is it?"},
    ],
)
assert "$79" in follow.choices[0].message.content, follow

# A token budget: the answer is cut, finish_reason "length"; streamed usage arrives in a last chunk.
short = client.chat.completions.create(
    model="demo", messages=[{"role": "user", "content": "How do I reset my password?"}], max_tokens=8
)
assert short.choices[0].finish_reason == "length", short
assert 1 <= short.usage.completion_tokens <= 8, short.usage
stream = client.chat.completions.create(
    model="demo",
    messages=[{"role": "user", "content": "How do I reset my password?"}],
    stream=True,
    max_tokens=8,
    stream_options={"include_usage": True},
)
usage = None
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
assert usage is not None and usage.completion_tokens == short.usage.completion_tokens, usage

# What an agent cannot do is a clear 400 naming the parameter.
try:
    client.chat.completions.create(model="demo", messages=[{"role": "user", "content": "hi"}], n=2)
    raise AssertionError("n=2 must fail")
except openai.BadRequestError as e:
    assert e.body["param"] == "n", e.body

# An unknown agent and a wrong key are errors the client raises.
try:
    client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    raise AssertionError("an unknown agent must fail")
except openai.NotFoundError as e:
    assert "nope" in str(e), e
try:
    OpenAI(base_url=BASE, api_key="wrong").chat.completions.create(
        model="demo", messages=[{"role": "user", "content": "hi"}]
    )
    raise AssertionError("a wrong key must fail")
except openai.AuthenticationError:
    pass
print("openai: ok")
