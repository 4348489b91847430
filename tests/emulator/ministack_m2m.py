"""Gets a machine-to-machine access token from the MiniStack Cognito emulator.

Creates a user pool with a resource server `videos` (scopes `read`, `write`)
and an app client with a secret allowed the client-credentials flow, then
asks the pool's /oauth2/token endpoint for a token with the scope
`videos/read`, authenticating the client with HTTP Basic. Prints one JSON
object: the pool and client ids and the access token.

Usage: python ministack_m2m.py <endpoint URL>
"""

import base64
import json
import sys
import urllib.parse
import urllib.request

from emulator_client import cognito_idp


def main() -> None:
    endpoint = sys.argv[1].rstrip("/")
    idp = cognito_idp(endpoint)
    pool = idp.create_user_pool(PoolName="videos-m2m")["UserPool"]["Id"]
    idp.create_resource_server(
        UserPoolId=pool,
        Identifier="videos",
        Name="videos",
        Scopes=[
            {"ScopeName": "read", "ScopeDescription": "list videos"},
            {"ScopeName": "write", "ScopeDescription": "add videos"},
        ],
    )
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="nightly-importer",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=["videos/read", "videos/write"],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]
    client_id, secret = client["ClientId"], client["ClientSecret"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(
        endpoint + "/oauth2/token",
        data=urllib.parse.urlencode(
            {"grant_type": "client_credentials", "scope": "videos/read"}
        ).encode(),
        headers={
            "Authorization": "Basic " + basic,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token = json.load(response)["access_token"]
    print(json.dumps({"pool_id": pool, "client_id": client_id, "access_token": token}))


if __name__ == "__main__":
    main()
