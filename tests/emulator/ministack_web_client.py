"""Prepares MiniStack for a browser sign-in, as the Cognito labs do.

Creates a user pool with a "traditional web application" app client (a
client secret, the authorization code grant, scope openid, the given
callback and sign-out URLs), then signs a user up with boto3 the labs' way
(sign_up with SECRET_HASH) and confirms it. Prints one JSON object: the pool
and client ids, the client secret, the user name and password.

Usage: python ministack_web_client.py <endpoint URL> <callback URL> <sign-out URL>
"""

import base64
import hashlib
import hmac
import json
import secrets
import sys

from emulator_client import cognito_idp


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    digest = hmac.new(
        client_secret.encode(), (username + client_id).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def main() -> None:
    endpoint, callback, sign_out = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    idp = cognito_idp(endpoint)
    pool = idp.create_user_pool(PoolName="videos-web")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="videos-web",
        GenerateSecret=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid"],
        AllowedOAuthFlowsUserPoolClient=True,
        CallbackURLs=[callback],
        LogoutURLs=[sign_out],
        SupportedIdentityProviders=["COGNITO"],
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    client_id, client_secret = client["ClientId"], client["ClientSecret"]
    username = "carol"
    password = "Pw-" + secrets.token_urlsafe(12) + "9!"
    idp.sign_up(
        ClientId=client_id,
        SecretHash=secret_hash(username, client_id, client_secret),
        Username=username,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": "carol@example.com"}],
    )
    idp.admin_confirm_sign_up(UserPoolId=pool, Username=username)
    print(
        json.dumps(
            {
                "pool_id": pool,
                "client_id": client_id,
                "client_secret": client_secret,
                "username": username,
                "password": password,
            }
        )
    )


if __name__ == "__main__":
    main()
