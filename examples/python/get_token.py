"""A Lambda handler that gets a valid wxcomponent token without the platform's
secrets: it reads the token attributes from the stack's table and, when the
token there is missing or about to expire, invokes the stack's token function,
which refreshes it.

Attach the stack's TokenReaderPolicyArn output to the function's role and set
WX_TABLE (the TableName output), WX_TOKEN_FUNCTION (TokenFunctionName) and,
for {"component": true}, WX_COMPONENT_APPID.

Event: {"appid": "wx…"} or {"component": true}. Answer: the token function's
answer, {"access_token": "…", "expires_at": 1764554400} or
{"error": "revoked", "message": "…"}, plus "source": "table" or "function".
"""

import json
import os
import time

import boto3

# A token with less than this left is not handed out: a call made with it
# must reach WeChat before it expires (tokens.MinValidity).
MIN_VALIDITY_SECONDS = 120

_dynamodb = boto3.client("dynamodb")
_lambda = boto3.client("lambda")


def _from_table(key):
    # Only these attributes may be read (the reader policy enforces it).
    item = _dynamodb.get_item(
        TableName=os.environ["WX_TABLE"],
        Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}},
        ProjectionExpression="access_token, expires_at, #s",
        ExpressionAttributeNames={"#s": "status"},
    ).get("Item")
    if item is None:
        return None
    status = item.get("status", {}).get("S", "")
    if status in ("revoked", "needs_reauth"):
        return {"error": status, "message": f"{key[0]}: {status}"}
    token = item.get("access_token", {}).get("S", "")
    expires_at = int(item.get("expires_at", {}).get("N", "0"))
    if token and expires_at > time.time() + MIN_VALIDITY_SECONDS:
        return {"access_token": token, "expires_at": expires_at}
    return None


def handler(event, context):
    if event.get("component"):
        key = ("COMPONENT#" + os.environ["WX_COMPONENT_APPID"], "TOKEN")
        request = {"component": True}
    else:
        key = ("AUTHORIZER#" + event["appid"], "AUTH")
        request = {"appid": event["appid"]}
    answer = _from_table(key)
    if answer is not None:
        return {**answer, "source": "table"}
    out = _lambda.invoke(FunctionName=os.environ["WX_TOKEN_FUNCTION"], Payload=json.dumps(request).encode())
    if "FunctionError" in out:
        raise RuntimeError(f"token function failed: {out['Payload'].read()!r}")
    return {**json.loads(out["Payload"].read()), "source": "function"}
