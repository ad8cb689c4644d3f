// A minimal Lambda custom runtime for the tests: it runs the handler _HANDLER
// names (module.function, the module file module.mjs in LAMBDA_TASK_ROOT)
// against the Runtime API at AWS_LAMBDA_RUNTIME_API, as Lambda's Node.js
// runtime does, until the API goes away.
import path from "node:path";
import { pathToFileURL } from "node:url";

const base = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const [moduleName, fn] = process.env._HANDLER.split(".");
const mod = await import(pathToFileURL(path.join(process.env.LAMBDA_TASK_ROOT, moduleName + ".mjs")).href);
const handler = mod[fn];

const post = (p, body) => fetch(base + p, { method: "POST", headers: { "Content-Type": "application/json" }, body });

for (;;) {
  let resp;
  try {
    resp = await fetch(base + "/invocation/next");
  } catch {
    process.exit(0);
  }
  if (!resp.ok) process.exit(0);
  const id = resp.headers.get("Lambda-Runtime-Aws-Request-Id");
  const text = await resp.text();
  const context = {
    awsRequestId: id,
    invokedFunctionArn: resp.headers.get("Lambda-Runtime-Invoked-Function-Arn"),
    getRemainingTimeInMillis: () => Math.max(0, Number(resp.headers.get("Lambda-Runtime-Deadline-Ms")) - Date.now()),
  };
  try {
    const answer = await handler(text ? JSON.parse(text) : null, context);
    await post(`/invocation/${id}/response`, JSON.stringify(answer));
  } catch (e) {
    await post(`/invocation/${id}/error`, JSON.stringify({ errorMessage: String(e?.message ?? e), errorType: e?.name ?? "Error", stackTrace: String(e?.stack ?? "").split("\n") }));
  }
}
