"""The MCP server at /mcp, driven by the official MCP Python SDK as a real client.

Run by tests/clients/run.sh against a live server (THROUGHLINE_URL, THROUGHLINE_ADMIN_TOKEN).
"""
import asyncio
import os
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

URL = os.environ["THROUGHLINE_URL"].rstrip("/") + "/mcp"
TOKEN = os.environ["THROUGHLINE_ADMIN_TOKEN"]


async def main() -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with streamablehttp_client(URL, headers=headers) as (read, write, _):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.serverInfo.name == "throughline", init
            tools = await session.list_tools()
            names = sorted(t.name for t in tools.tools)
            assert "search" in names, names
            result = await session.call_tool("search", {"kb": "sample", "query": "slack alerts stopped arriving", "limit": 3})
            assert not result.isError, result
            text = result.content[0].text
            assert "Slack alerts stopped working" in text, text
            hits = result.structuredContent["hits"]
            assert hits[0]["path"] == "help/slack-alerts-stopped.md", hits[0]
            bad = await session.call_tool("search", {"kb": "nope", "query": "x"})
            assert bad.isError and "`nope`" in bad.content[0].text, bad
            if "ask" in names:
                answer = await session.call_tool("ask", {"agent": "demo", "question": "How do I reset my password?"})
                assert not answer.isError, answer
                assert "[1]" in answer.content[0].text, answer.content[0].text
                print("ask:", answer.content[0].text[:200].replace("\n", " "))
    # A wrong token is refused before any protocol exchange.
    try:
        async with streamablehttp_client(URL, headers={"Authorization": "Bearer wrong"}) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
        raise AssertionError("a wrong token must be refused")
    except AssertionError:
        raise
    except BaseException as e:  # the SDK surfaces the 401 as an HTTP error inside a task group
        assert "401" in repr(e) or "Unauthorized" in repr(e), repr(e)
    print("mcp: ok")


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
