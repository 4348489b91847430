"""An MCP client made with the official MCP Python SDK (PyPI `mcp`), for the
tests of examples/videos-mcp: nothing here is the project's own client code.

Every HTTP exchange the SDK makes is recorded (method, URL, status, the
`WWW-Authenticate` header, and the form fields of token requests without
the client's credentials), and one JSON object is printed at the end:
`{"exchanges": [...], "server": ..., "tools": [...], "calls": [...],
"error": ...}`, where `error` is the exception that ended the session, if
any. The Rust tests assert on it.

Usage:
  python mcp_client.py bearer <MCP URL> <access token> [CALL...]
      The SDK's streamable HTTP client with a static bearer token (a client
      that already holds one).
  python mcp_client.py client-credentials <MCP URL> <client id> <client secret>
          <issuer> <authorization server base URL> [CALL...]
      The SDK's OAuth client for the client-credentials grant
      (`ClientCredentialsOAuthProvider`): it gets the 401, follows its
      `resource_metadata` to the RFC 9728 document, discovers the
      authorization server named there, gets a token at its token endpoint,
      and retries. Requests to the issuer's host are sent to the given base
      URL instead, as DNS would send them to Cognito (an emulator's
      discovery document names the real Cognito issuer).

Each CALL is `tool` or `tool=<JSON arguments>`; the session initializes and
lists the tools before calling them in order.
"""

import asyncio
import json
import sys
from urllib.parse import parse_qsl, urlsplit

import httpx2
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.shared.exceptions import MCPError

# No test may wait long: every request's whole exchange is bounded.
TIMEOUT = httpx2.Timeout(20.0)
# Token-request fields the record keeps (never credentials).
TOKEN_FIELDS = ("grant_type", "scope", "resource")


class Rehosted(httpx2.AsyncBaseTransport):
    """Sends requests for `origin` to `target` (scheme, host and port)."""

    def __init__(self, origin: str, target: str) -> None:
        self.origin = urlsplit(origin)
        self.target = urlsplit(target)
        self.inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if (url.scheme, url.host) == (self.origin.scheme, self.origin.hostname):
            request.url = url.copy_with(
                scheme=self.target.scheme, host=self.target.hostname, port=self.target.port
            )
            request.headers["host"] = self.target.netloc
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class MemoryTokens:
    """The SDK's token storage, in memory (a fresh client each run)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def recorder(exchanges: list) -> dict:
    """httpx event hooks that append one entry per response."""

    async def on_response(response: httpx2.Response) -> None:
        request = response.request
        entry = {
            "method": request.method,
            "url": str(request.url),
            "status": response.status_code,
            "www_authenticate": response.headers.get("www-authenticate"),
        }
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(request.content.decode()))
            entry["form"] = {k: v for k, v in form.items() if k in TOKEN_FIELDS}
        exchanges.append(entry)

    return {"response": [on_response]}


def parse_calls(specs: list) -> list:
    calls = []
    for spec in specs:
        name, _, arguments = spec.partition("=")
        calls.append((name, json.loads(arguments) if arguments else {}))
    return calls


async def session(url: str, http: httpx2.AsyncClient, calls: list, out: dict) -> None:
    async with streamable_http_client(url, http_client=http) as (read, write):
        async with ClientSession(read, write) as client:
            init = await client.initialize()
            out["server"] = {
                "name": init.server_info.name,
                "protocol_version": init.protocol_version,
            }
            tools = await client.list_tools()
            out["tools"] = sorted(tool.name for tool in tools.tools)
            for name, arguments in calls:
                try:
                    result = await client.call_tool(name, arguments)
                except MCPError as error:  # a JSON-RPC error answer
                    out["calls"].append({"tool": name, "error": error.error.message})
                    continue
                out["calls"].append(
                    {
                        "tool": name,
                        "is_error": bool(getattr(result, "is_error", False)),
                        "structured": getattr(result, "structured_content", None),
                    }
                )


def first_error(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


async def main(argv: list) -> dict:
    mode, url = argv[0], argv[1]
    out: dict = {"exchanges": [], "server": None, "tools": None, "calls": [], "error": None}
    hooks = recorder(out["exchanges"])
    if mode == "bearer":
        token, calls = argv[2], parse_calls(argv[3:])
        http = httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT, event_hooks=hooks
        )
    elif mode == "client-credentials":
        client_id, secret, issuer, authorization_server = argv[2:6]
        calls = parse_calls(argv[6:])
        auth = ClientCredentialsOAuthProvider(
            server_url=url,
            storage=MemoryTokens(),
            client_id=client_id,
            client_secret=secret,
            issuer=issuer,
        )
        http = httpx2.AsyncClient(
            auth=auth,
            timeout=TIMEOUT,
            event_hooks=hooks,
            transport=Rehosted(issuer, authorization_server),
        )
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    try:
        async with http:
            await asyncio.wait_for(session(url, http, calls, out), timeout=60)
    except BaseException as error:  # noqa: BLE001 - reported to the test as data
        error = first_error(error)
        out["error"] = f"{type(error).__name__}: {error}"
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
