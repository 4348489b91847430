"""The boto3 Cognito client the emulator scripts use (test credentials), and
the machine-to-machine pieces two of them share."""

import base64
import json
import urllib.parse
import urllib.request

import boto3


def cognito_idp(endpoint: str):
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def m2m_pool(idp, pool_name: str, client_name: str):
    """A user pool with a resource server `videos` (scopes `read` and
    `write`) and an app client with a secret allowed the client-credentials
    grant and both scopes. Returns (pool id, client id, client secret)."""
    pool = idp.create_user_pool(PoolName=pool_name)["UserPool"]["Id"]
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
        ClientName=client_name,
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=["videos/read", "videos/write"],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]
    return pool, client["ClientId"], client["ClientSecret"]


def client_credentials_token(endpoint: str, client_id: str, secret: str, scope: str) -> str:
    """An access token from the pool's /oauth2/token (client credentials,
    the client authenticated with HTTP Basic)."""
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
