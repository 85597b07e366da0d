#!/usr/bin/env python3
"""Concurrent widget visitors against a running `throughline serve` (Python standard library only).

Each visitor comes from its own loopback address (127.0.x.y: Linux routes all of 127/8 to lo), as real
visitors come from their own addresses, so the per-address rate limit sees one visitor each. Every
visitor first gets a session (not timed), then all ask at once through the public chat with the agent's
public key; a /health probe runs every 50 ms from 127.0.0.1 meanwhile.

Reports per round: answered within the deadline, p50/p99 latency of answers, refusals (429/503, with
their p50 latency and whether they carried Retry-After), timeouts/errors, and /health p50/p99.

  python3 benches/load/visitors.py --addr 127.0.0.1:7800 --key pk_... --visitors 50 200 500 --rounds 2
"""

import argparse
import asyncio
import json
import statistics
import time

QUESTIONS = [
    "How much is the Team plan?",
    "My Slack alerts stopped working",
    "Can we log in with Okta?",
    "How do I create my first monitor?",
    "Can I get a refund?",
    "How do I reset my password?",
    "How do I invite a teammate?",
    "What happens when I reach my monitor limit?",
]


def visitor_ip(i):
    # 127.0.1.1 ... 127.0.x.250: never 127.0.0.1 (the health probe's address).
    return "127.0.%d.%d" % (1 + i // 250, 1 + i % 250)


async def request(addr, method, path, headers=None, body=None, local=None, timeout=120.0):
    """One HTTP/1.1 request on its own connection; returns (status, headers, body bytes)."""
    host, port = addr.rsplit(":", 1)
    payload = json.dumps(body).encode() if body is not None else b""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % addr, "Connection: close",
             "Content-Length: %d" % len(payload)]
    if body is not None:
        lines.append("Content-Type: application/json")
    for k, v in (headers or {}).items():
        lines.append("%s: %s" % (k, v))
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload

    async def go():
        reader, writer = await asyncio.open_connection(host, int(port), local_addr=(local, 0) if local else None)
        try:
            writer.write(raw)
            await writer.drain()
            data = await reader.read()
        finally:
            writer.close()
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1]) if len(status_line.split()) > 1 else 0
        hdrs = {}
        for h in header_lines:
            k, _, v = h.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if hdrs.get("transfer-encoding") == "chunked":
            out, buf = b"", rest
            while buf:
                size_line, _, buf = buf.partition(b"\r\n")
                n = int(size_line or b"0", 16)
                if n == 0:
                    break
                out, buf = out + buf[:n], buf[n + 2:]
            rest = out
        return status, hdrs, rest

    return await asyncio.wait_for(go(), timeout)


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


async def health_probe(addr, stop, out):
    while not stop.is_set():
        t = time.monotonic()
        try:
            status, _, _ = await request(addr, "GET", "/health", local="127.0.0.1", timeout=30)
            if status == 200:
                out.append(time.monotonic() - t)
        except Exception:
            out.append(float("inf"))
        await asyncio.sleep(0.05)


async def round_of(addr, key, agent, n, deadline, label):
    hdr = {"X-Throughline-Key": key}
    # Sessions first (not timed), a few at a time.
    sem = asyncio.Semaphore(64)

    async def session(i):
        async with sem:
            for _ in range(20):
                try:
                    st, _, b = await request(addr, "POST", "/v1/agents/%s/sessions" % agent, hdr, {}, visitor_ip(i))
                    if st == 201:
                        return json.loads(b)["session"]
                except Exception:
                    pass
                await asyncio.sleep(0.5)
            raise SystemExit("no session for visitor %d" % i)

    sessions = await asyncio.gather(*(session(i) for i in range(n)))
    health, stop = [], asyncio.Event()
    probe = asyncio.ensure_future(health_probe(addr, stop, health))
    await asyncio.sleep(0.3)
    results = []

    async def ask(i):
        t = time.monotonic()
        h = dict(hdr)
        h["X-Throughline-Session"] = sessions[i]
        try:
            st, hh, b = await request(addr, "POST", "/v1/agents/%s/chat" % agent, h,
                                      {"message": QUESTIONS[i % len(QUESTIONS)]}, visitor_ip(i), timeout=180)
            code = None
            if st != 200:
                try:
                    code = json.loads(b)["error"]["code"]
                except Exception:
                    code = "?"
            results.append((st, time.monotonic() - t, "retry-after" in hh, code))
        except Exception as e:
            results.append((0, time.monotonic() - t, False, type(e).__name__))

    started = time.monotonic()
    await asyncio.gather(*(ask(i) for i in range(n)))
    wall = time.monotonic() - started
    stop.set()
    await probe
    ok = [r[1] for r in results if r[0] == 200]
    refused = [r for r in results if r[0] in (429, 503)]
    errors = [r for r in results if r[0] not in (200, 429, 503)]
    codes = {}
    for r in refused + errors:
        codes[str(r[0]) + ":" + str(r[3])] = codes.get(str(r[0]) + ":" + str(r[3]), 0) + 1
    row = {
        "round": label, "visitors": n, "wall_s": round(wall, 1),
        "answered": len(ok), "answered_within_deadline": sum(1 for x in ok if x <= deadline),
        "p50_s": round(pct(ok, 50), 2), "p99_s": round(pct(ok, 99), 2), "max_s": round(max(ok), 2) if ok else None,
        "refused_429": sum(1 for r in refused if r[0] == 429), "refused_503": sum(1 for r in refused if r[0] == 503),
        "refusal_p50_s": round(pct([r[1] for r in refused], 50), 2) if refused else None,
        "refusal_max_s": round(max(r[1] for r in refused), 2) if refused else None,
        "refusals_with_retry_after": sum(1 for r in refused if r[2]),
        "errors": len(errors), "codes": codes,
        "everyone_answered_or_refused_within_deadline": all(r[1] <= deadline and r[0] in (200, 429, 503) for r in results),
        "health_p50_ms": round(pct(health, 50) * 1000, 1), "health_p99_ms": round(pct(health, 99) * 1000, 1),
        "health_probes": len(health),
    }
    return row


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--agent", default="demo")
    ap.add_argument("--visitors", type=int, nargs="+", default=[50, 200, 500])
    ap.add_argument("--label", default="")
    ap.add_argument("--deadline", type=float, default=10.0)
    a = ap.parse_args()
    for n in a.visitors:
        row = await round_of(a.addr, a.key, a.agent, n, a.deadline, a.label)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
