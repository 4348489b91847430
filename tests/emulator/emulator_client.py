"""The boto3 Cognito client both emulator scripts use (test credentials)."""

import boto3


def cognito_idp(endpoint: str):
    return boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
