#!/usr/bin/env python3
"""Shutdown with open streams (issue 15 item 5), against the real binary (Python standard library only).

Starts `throughline serve` on an initialised data dir, opens N session event streams and N streamed
chats from N visitor addresses, sends SIGTERM while they are open, and measures the time to process
exit. Each stream must end cleanly (the chunked body's terminator, a final SSE event: `done` for a
chat, `server_stopping` for an event stream; or a JSON 503 for a chat still queued). The server is then
started again and every turn a visitor saw (`turn` event) must be in its session's history.

  python3 benches/load/shutdown.py --bin target/release/throughline --data DIR --streams 30 --repeats 3
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import time

from visitors import QUESTIONS, request, visitor_ip

TOKEN = "tla_shutdown_bench_token"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(binary, data, port, extra):
    env = dict(os.environ, THROUGHLINE_ADMIN_TOKEN=TOKEN)
    proc = subprocess.Popen([binary, "--data-dir", data, "serve", "--addr", "127.0.0.1:%d" % port] + extra,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if c.recv(20).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the server exited with %s" % proc.returncode)
        time.sleep(0.25)
    raise SystemExit("the server did not come up")


def sse_events(body):
    names = []
    for block in body.decode("utf-8", "replace").split("\n\n"):
        name, data = "message", False
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data = True
        if data:
            names.append(name)
    return names


async def open_stream(addr, path, headers, body, local):
    """Sends the request, returns (status, raw chunked body, clean end) once the server closes."""
    host, port = addr.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=(local, 0))
    payload = json.dumps(body).encode() if body is not None else b""
    method = "POST" if body is not None else "GET"
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % addr, "Connection: close",
             "Accept: text/event-stream", "Content-Length: %d" % len(payload)]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += ["%s: %s" % kv for kv in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    await writer.drain()
    try:
        data = await asyncio.wait_for(reader.read(), 60)
        err = None
    except Exception as e:  # reset by peer, timeout
        data, err = b"", type(e).__name__
    writer.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if len(head.split()) > 1 else 0
    chunked = b"transfer-encoding: chunked" in head.lower()
    clean = err is None and (rest.endswith(b"0\r\n\r\n") if chunked else len(rest) > 0)
    if chunked:
        out, buf = b"", rest
        while buf:
            size, _, buf = buf.partition(b"\r\n")
            try:
                n = int(size or b"0", 16)
            except ValueError:
                break
            if n == 0:
                break
            out, buf = out + buf[:n], buf[n + 2:]
        rest = out
    return status, rest, clean


async def one(binary, data, n):
    port = free_port()
    addr = "127.0.0.1:%d" % port
    proc = start(binary, data, port, [])
    admin = {"Authorization": "Bearer " + TOKEN}
    st, _, b = await request(addr, "GET", "/v1/agents/demo", admin)
    key = json.loads(b)["public_key"]
    hdr = {"X-Throughline-Key": key}
    sessions = []
    for i in range(n):
        for _ in range(60):  # the agent is being opened at start: a session may time out meanwhile
            st, _, b = await request(addr, "POST", "/v1/agents/demo/sessions", hdr, {}, visitor_ip(i))
            if st == 201:
                sessions.append(json.loads(b)["session"])
                break
            await asyncio.sleep(0.5)
    # Warm: the agent open and its caches filled, as on a server that has been running.
    await request(addr, "POST", "/v1/agents/demo/chat", dict(hdr, **{"X-Throughline-Session": sessions[0]}),
                  {"message": QUESTIONS[0]}, visitor_ip(0))
    live = [asyncio.ensure_future(open_stream(addr, "/v1/agents/demo/sessions/%s/events" % s, hdr, None, visitor_ip(i)))
            for i, s in enumerate(sessions)]
    chats = [asyncio.ensure_future(open_stream(addr, "/v1/agents/demo/chat", dict(hdr, **{"X-Throughline-Session": s}),
                                               {"message": QUESTIONS[i % len(QUESTIONS)], "stream": True}, visitor_ip(i)))
             for i, s in enumerate(sessions)]
    await asyncio.sleep(0.4)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    loop = asyncio.get_running_loop()
    rc = await loop.run_in_executor(None, proc.wait)
    exit_s = time.monotonic() - t0
    live_r = await asyncio.gather(*live)
    chat_r = await asyncio.gather(*chats)
    out = {"streams": n, "exit_s": round(exit_s, 2), "exit_code": rc,
           "live_clean_server_stopping": sum(1 for s, b, c in live_r if c and sse_events(b)[-1:] == ["server_stopping"]),
           "chat_streams_done": 0, "chat_turns": 0, "chat_cut_by_server_stopping": 0, "chat_refused_503": 0,
           "unclean": 0}
    acknowledged = []
    for i, (s, b, c) in enumerate(chat_r):
        if not c:
            out["unclean"] += 1
        elif s == 200:
            ev = sse_events(b)
            out["chat_streams_done"] += ev[-1:] == ["done"]
            if "turn" in ev:
                out["chat_turns"] += 1
                acknowledged.append(sessions[i])
            out["chat_cut_by_server_stopping"] += "server_stopping" in ev
        elif s == 503:
            out["chat_refused_503"] += 1
        else:
            out["unclean"] += 1
    out["unclean"] += sum(1 for s, b, c in live_r if not c)
    # Acknowledged turns are stored.
    proc = start(binary, data, port, [])
    kept = 0
    for i, s in enumerate(acknowledged):
        for _ in range(60):  # the agent is being opened at start: the request may time out meanwhile
            st, _, b = await request(addr, "GET", "/v1/agents/demo/sessions/%s/messages" % s, hdr, None, visitor_ip(i))
            if st == 200:
                kept += any(m["role"] == "assistant" for m in json.loads(b)["messages"])
                break
            await asyncio.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    out["acknowledged_turns_persisted"] = "%d/%d" % (kept, len(acknowledged))
    return out


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/throughline")
    ap.add_argument("--data", required=True, help="an initialised data dir (sample KB and the demo agent)")
    ap.add_argument("--streams", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    times = []
    for _ in range(a.repeats):
        r = await one(a.bin, a.data, a.streams)
        times.append(r["exit_s"])
        print(json.dumps(r), flush=True)
    print(json.dumps({"median_exit_s": round(statistics.median(times), 2), "max_exit_s": max(times)}))


if __name__ == "__main__":
    asyncio.run(main())
