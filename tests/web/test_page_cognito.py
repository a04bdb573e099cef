"""The page's Cognito code (``cloud/web/aws.js``, ``auth.js``) in Node against moto's Cognito on
loopback: a user signed in to a user pool gets the identity pool's credentials for the video,
and the page reads who is signed in from the ID token."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from testing.ports import free_port

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"  # moto serves unsigned Cognito identity calls in this region
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer  # here: only the worker running this file

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_a_signed_in_user_gets_identity_pool_credentials(moto_url):
    aws = {"region_name": REGION, "endpoint_url": moto_url, "aws_access_key_id": "testing",
           "aws_secret_access_key": "testing"}
    idp = boto3.client("cognito-idp", **aws)
    pool = idp.create_user_pool(PoolName="robots")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="page", ReadAttributes=["email"],
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="sam",
                          UserAttributes=[{"Name": "email", "Value": "sam@example.org"}])
    idp.admin_set_user_password(UserPoolId=pool, Username="sam", Password="Pass-word-1",
                                Permanent=True)
    id_token = idp.admin_initiate_auth(
        UserPoolId=pool, ClientId=client, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "sam", "PASSWORD": "Pass-word-1"},
    )["AuthenticationResult"]["IdToken"]
    identity = boto3.client("cognito-identity", **aws)
    provider = f"cognito-idp.{REGION}.amazonaws.com/{pool}"
    identity_pool = identity.create_identity_pool(
        IdentityPoolName="viewers", AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client}],
    )["IdentityPoolId"]

    done = subprocess.run(["node", str(HERE / "cognito.mjs"), moto_url, REGION, pool,
                           identity_pool, id_token],
                          capture_output=True, text=True, timeout=60, cwd=HERE)
    assert done.returncode == 0, done.stderr
    page = json.loads(done.stdout)
    creds = page["credentials"]
    assert creds["accessKeyId"] and creds["secretAccessKey"] and creds["sessionToken"]
    # the identity the page was given is the one the pool has for this user
    assert creds["identityId"] in [i["IdentityId"] for i in identity.list_identities(
        IdentityPoolId=identity_pool, MaxResults=10)["Identities"]]
    assert page["claims"]["cognito:username"] == "sam"
    assert page["claims"]["email"] == "sam@example.org"
