"""Prepares MiniStack for a single-page app hosted elsewhere, as the
Cognito labs' pages are: a user pool and a public app client (no secret,
SRP and refresh-token sign-in), whose users sign up from the page itself.

Usage:
  python ministack_spa_client.py create <endpoint URL>
      prints {"pool_id": ..., "client_id": ...}
  python ministack_spa_client.py confirm <endpoint URL> <pool id> <user name>
      confirms a user who signed up (AdminConfirmSignUp); prints {}
"""

import json
import sys

from emulator_client import cognito_idp


def main() -> None:
    command, endpoint = sys.argv[1], sys.argv[2].rstrip("/")
    idp = cognito_idp(endpoint)
    if command == "create":
        pool = idp.create_user_pool(PoolName="videos-spa")["UserPool"]["Id"]
        client = idp.create_user_pool_client(
            UserPoolId=pool,
            ClientName="videos-spa",
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]
        print(json.dumps({"pool_id": pool, "client_id": client["ClientId"]}))
    elif command == "confirm":
        idp.admin_confirm_sign_up(UserPoolId=sys.argv[3], Username=sys.argv[4])
        print("{}")
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
