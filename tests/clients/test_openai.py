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
