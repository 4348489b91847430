"""Sets up a MiniStack user pool for the MCP client tests of videos-mcp.

A resource server `videos` with the custom scopes `read` and `write`, and an
app client with a secret allowed the client-credentials grant and both
scopes. Also asks the pool's /oauth2/token for two tokens outside any MCP
client, for clients that already hold one: `videos/read` (the scope the
server requires) and `videos/write` only (short of it). Prints one JSON
object: pool_id, client_id, client_secret, read_token, write_only_token.

Usage: python ministack_pool.py <endpoint URL>
(run with MINISTACK_PYTHON, which has boto3)
"""

import base64
import json
import os
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "emulator"))
from emulator_client import cognito_idp  # noqa: E402


def token(endpoint: str, client_id: str, secret: str, scope: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(
        endpoint + "/oauth2/token",
        data=urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode(),
        headers={
            "Authorization": "Basic " + basic,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["access_token"]


def main() -> None:
    endpoint = sys.argv[1].rstrip("/")
    idp = cognito_idp(endpoint)
    pool = idp.create_user_pool(PoolName="videos-mcp")["UserPool"]["Id"]
    idp.create_resource_server(
        UserPoolId=pool,
        Identifier="videos",
        Name="videos",
        Scopes=[
            {"ScopeName": "read", "ScopeDescription": "use the videos tools"},
            {"ScopeName": "write", "ScopeDescription": "add videos"},
        ],
    )
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="mcp-agent",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=["videos/read", "videos/write"],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]
    client_id, secret = client["ClientId"], client["ClientSecret"]
    print(
        json.dumps(
            {
                "pool_id": pool,
                "client_id": client_id,
                "client_secret": secret,
                "write_only_token": token(endpoint, client_id, secret, "videos/write"),
                "read_token": token(endpoint, client_id, secret, "videos/read"),
            }
        )
    )


if __name__ == "__main__":
    main()
