#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible chat-completions endpoint, for evaluating Throughline's LLM path
offline: `python3 llm_double.py PORT` serves POST /v1/chat/completions (streamed as server-sent events
when the request asks for `stream: true`, a JSON chat.completion otherwise) and GET /v1/models on
127.0.0.1.

It speaks the real wire protocol; what it cannot do is think. As its "model" it reads the prompt the way
the agent builds it (numbered `<source-FENCE id="N">` blocks, then `Question: ...`), picks the two sentences
of the sources that share the most words with the question (earlier sources win ties, as a model
favours the best-ranked context), and answers with them verbatim, each cited `[N]`. When no sentence
shares a content word with the question it says it doesn't know. So an evaluation through it measures
the LLM path's plumbing (prompt, streaming, citation checking, "I don't know", stages) and the quality
of the context the agent hands a model, not a real model's writing.
"""
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STOP = set(
    "a an and are as at be by can do does for from how i if in is it me my of on or our so that the this to"
    " we what when where which who why will with you your there their then than have has get use using"
    " about into any all some more most much many".split()
)
SOURCE = re.compile(r'<source(-[0-9a-f]+|) id="(\d+)"[^>]*>\n?(.*?)\n?</source\1>', re.S)


def words(text):
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP and len(w) > 1]


def sentences(text):
    out = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*#>| ").strip()
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9`\"(])", line):
            s = s.strip()
            if len(s) >= 20 and not s.endswith("?"):
                out.append(s)
    return out


def answer(messages):
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    question = user.rsplit("Question:", 1)[-1].strip()
    q = set(words(question))
    scored = []
    for n, (_fence, sid, body) in enumerate(SOURCE.findall(user)):
        for s in sentences(body):
            overlap = len(q & set(words(s)))
            if overlap:
                scored.append((-overlap, n, s, sid))
    if not scored:
        return "I don't know; the sources do not cover that. I can hand you to a human."
    scored.sort()
    picked = []
    for _, _, s, sid in scored:
        if all(s != p for p, _ in picked):
            picked.append((s, sid))
        if len(picked) == 2:
            break
    return " ".join(f"{s.rstrip('.')} [{sid}]." for s, sid in picked)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, content_type, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.rstrip("/") == "/v1/models":
            body = {"object": "list", "data": [{"id": "double", "object": "model", "created": 0, "owned_by": "bench"}]}
            self.send(200, "application/json", json.dumps(body))
        else:
            self.send(404, "application/json", json.dumps({"error": {"message": "not found", "type": "invalid_request_error"}}))

    def do_POST(self):
        if self.path.rstrip("/") != "/v1/chat/completions":
            self.send(404, "application/json", json.dumps({"error": {"message": "not found", "type": "invalid_request_error"}}))
            return
        length = int(self.headers.get("Content-Length", "0"))
        try:
            req = json.loads(self.rfile.read(length))
            messages = req["messages"]
        except (ValueError, KeyError) as e:
            self.send(400, "application/json", json.dumps({"error": {"message": f"bad request: {e}", "type": "invalid_request_error"}}))
            return
        text = answer(messages)
        model = req.get("model", "double")
        created = int(time.time())
        if not req.get("stream"):
            body = {
                "id": "chatcmpl-double", "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            }
            self.send(200, "application/json", json.dumps(body))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

        def chunk(delta, finish=None):
            c = {"id": "chatcmpl-double", "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())

        chunk({"role": "assistant", "content": ""})
        for piece in re.findall(r"\S+\s*", text):
            chunk({"content": piece})
        chunk({}, "stop")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8799
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
