// A Lambda handler that gets a valid wxcomponent token without the platform's
// secrets: it reads the token attributes from the stack's table and, when the
// token there is missing or about to expire, invokes the stack's token
// function, which refreshes it.
//
// Attach the stack's TokenReaderPolicyArn output to the function's role and
// set WX_TABLE (the TableName output), WX_TOKEN_FUNCTION (TokenFunctionName)
// and, for {"component": true}, WX_COMPONENT_APPID.
//
// Event: {"appid": "wx…"} or {"component": true}. Answer: the token
// function's answer, {"access_token": "…", "expires_at": 1764554400} or
// {"error": "revoked", "message": "…"}, plus "source": "table" or "function".
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { LambdaClient, InvokeCommand } from "@aws-sdk/client-lambda";

// A token with less than this left is not handed out (tokens.MinValidity).
const MIN_VALIDITY_SECONDS = 120;

const dynamodb = new DynamoDBClient({});
const lambda = new LambdaClient({});

async function fromTable(pk, sk) {
  // Only these attributes may be read (the reader policy enforces it).
  const { Item: item } = await dynamodb.send(new GetItemCommand({
    TableName: process.env.WX_TABLE,
    Key: { pk: { S: pk }, sk: { S: sk } },
    ProjectionExpression: "access_token, expires_at, #s",
    ExpressionAttributeNames: { "#s": "status" },
  }));
  if (!item) return null;
  const status = item.status?.S ?? "";
  if (status === "revoked" || status === "needs_reauth") {
    return { error: status, message: `${pk}: ${status}` };
  }
  const token = item.access_token?.S ?? "";
  const expiresAt = Number(item.expires_at?.N ?? "0");
  if (token && expiresAt > Date.now() / 1000 + MIN_VALIDITY_SECONDS) {
    return { access_token: token, expires_at: expiresAt };
  }
  return null;
}

export async function handler(event) {
  const [pk, sk, request] = event.component
    ? ["COMPONENT#" + process.env.WX_COMPONENT_APPID, "TOKEN", { component: true }]
    : ["AUTHORIZER#" + event.appid, "AUTH", { appid: event.appid }];
  const answer = await fromTable(pk, sk);
  if (answer) return { ...answer, source: "table" };
  const out = await lambda.send(new InvokeCommand({
    FunctionName: process.env.WX_TOKEN_FUNCTION,
    Payload: new TextEncoder().encode(JSON.stringify(request)),
  }));
  const payload = new TextDecoder().decode(out.Payload);
  if (out.FunctionError) throw new Error(`token function failed: ${payload}`);
  return { ...JSON.parse(payload), source: "function" };
}
