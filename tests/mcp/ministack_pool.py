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

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "emulator"))
from emulator_client import client_credentials_token, cognito_idp, m2m_pool  # noqa: E402


def main() -> None:
    endpoint = sys.argv[1].rstrip("/")
    pool, client_id, secret = m2m_pool(cognito_idp(endpoint), "videos-mcp", "mcp-agent")
    print(
        json.dumps(
            {
                "pool_id": pool,
                "client_id": client_id,
                "client_secret": secret,
                "write_only_token": client_credentials_token(endpoint, client_id, secret, "videos/write"),
                "read_token": client_credentials_token(endpoint, client_id, secret, "videos/read"),
            }
        )
    )


if __name__ == "__main__":
    main()
