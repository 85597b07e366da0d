"""The MCP server at /mcp, driven by the official MCP Python SDK as a real client.

Run by tests/clients/run.sh against a live server (THROUGHLINE_URL, THROUGHLINE_ADMIN_TOKEN).
"""
import asyncio
import os
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

URL = os.environ["THROUGHLINE_URL"].rstrip("/") + "/mcp"
TOKEN = os.environ["THROUGHLINE_ADMIN_TOKEN"]


async def main() -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with streamable_http_client(URL, http_client=create_mcp_http_client(headers=headers)) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.server_info.name == "throughline", init
            tools = await session.list_tools()
            names = sorted(t.name for t in tools.tools)
            assert "search" in names, names
            result = await session.call_tool("search", {"kb": "sample", "query": "slack alerts stopped arriving", "limit": 3})
            assert not result.is_error, result
            text = result.content[0].text
            assert "Slack alerts stopped working" in text, text
            hits = result.structured_content["hits"]
            assert hits[0]["path"] == "help/slack-alerts-stopped.md", hits[0]
            bad = await session.call_tool("search", {"kb": "nope", "query": "x"})
            assert bad.is_error and "`nope`" in bad.content[0].text, bad
            if "ask" in names:
                answer = await session.call_tool("ask", {"agent": "demo", "question": "How do I reset my password?"})
                assert not answer.is_error, answer
                assert "[1]" in answer.content[0].text, answer.content[0].text
                print("ask:", answer.content[0].text[:200].replace("\n", " "))
    # A wrong token is refused before any protocol exchange.
    try:
        wrong = create_mcp_http_client(headers={"Authorization": "Bearer wrong"})
        async with streamable_http_client(URL, http_client=wrong) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
        raise AssertionError("a wrong token must be refused")
    except AssertionError:
        raise
    except BaseException as e:  # the SDK surfaces the refusal as an error inside a task group
        assert "401" in repr(e) or "error response" in repr(e), repr(e)
    # The refusal itself is a 401 before any protocol exchange.
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        URL,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode(),
        headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"},
    )
    try:
        urllib.request.urlopen(req)
        raise AssertionError("a wrong token must be refused")
    except urllib.error.HTTPError as e:
        assert e.code == 401, e.code
    print("mcp: ok")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
