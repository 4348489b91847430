"""Does what a Cognito user does in the course labs, against a Cognito emulator.

Creates a user pool and an app client with a secret and USER_PASSWORD_AUTH,
signs a user up with the SECRET_HASH, confirms them, adds them to a group,
and signs in. Prints one JSON object: the pool and client ids, the user's
sub, and the id and access tokens.

Usage: python cognito_user.py <endpoint URL> <username> <group>
"""

import base64
import hashlib
import hmac
import json
import sys

from emulator_client import cognito_idp


def secret_hash(username: str, client_id: str, client_secret: str) -> str:
    # base64(HMAC-SHA256(key=client_secret, msg=username + client_id))
    digest = hmac.new(
        client_secret.encode(), (username + client_id).encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def main() -> None:
    endpoint, username, group = sys.argv[1], sys.argv[2], sys.argv[3]
    password = "Correct-Horse-9-Battery"
    idp = cognito_idp(endpoint)
    pool_id = idp.create_user_pool(PoolName="videos-course")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="videos-web",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    client_id, client_secret = client["ClientId"], client["ClientSecret"]
    sh = secret_hash(username, client_id, client_secret)
    idp.sign_up(
        ClientId=client_id,
        SecretHash=sh,
        Username=username,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
    )
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    idp.create_group(GroupName=group, UserPoolId=pool_id)
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    auth = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password, "SECRET_HASH": sh},
    )["AuthenticationResult"]
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    print(
        json.dumps(
            {
                "pool_id": pool_id,
                "client_id": client_id,
                "sub": sub,
                "access_token": auth["AccessToken"],
                "id_token": auth["IdToken"],
            }
        )
    )


if __name__ == "__main__":
    main()
