"""Gets a machine-to-machine access token from the MiniStack Cognito emulator.

Creates a user pool with a resource server `videos` (scopes `read`, `write`)
and an app client with a secret allowed the client-credentials flow, then
asks the pool's /oauth2/token endpoint for a token with the scope
`videos/read`, authenticating the client with HTTP Basic. Prints one JSON
object: the pool and client ids and the access token.

Usage: python ministack_m2m.py <endpoint URL>
"""

import json
import sys

from emulator_client import client_credentials_token, cognito_idp, m2m_pool


def main() -> None:
    endpoint = sys.argv[1].rstrip("/")
    pool, client_id, secret = m2m_pool(cognito_idp(endpoint), "videos-m2m", "nightly-importer")
    token = client_credentials_token(endpoint, client_id, secret, "videos/read")
    print(json.dumps({"pool_id": pool, "client_id": client_id, "access_token": token}))


if __name__ == "__main__":
    main()
