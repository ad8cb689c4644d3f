"""A minimal Lambda custom runtime for the tests: it runs the handler _HANDLER
names (module.function, the module in LAMBDA_TASK_ROOT) against the Runtime
API at AWS_LAMBDA_RUNTIME_API, as Lambda's Python runtime does, until the API
goes away."""

import importlib
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request

base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
module, function = os.environ["_HANDLER"].rsplit(".", 1)
handler = getattr(importlib.import_module(module), function)


class Context:
    def __init__(self, headers):
        self.aws_request_id = headers["Lambda-Runtime-Aws-Request-Id"]
        self.invoked_function_arn = headers["Lambda-Runtime-Invoked-Function-Arn"]
        self._deadline_ms = int(headers["Lambda-Runtime-Deadline-Ms"])

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def post(path, body):
    req = urllib.request.Request(base + path, data=body, method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).close()


while True:
    try:
        with urllib.request.urlopen(base + "/invocation/next") as resp:
            context = Context(resp.headers)
            event = json.loads(resp.read() or b"null")
    except (urllib.error.URLError, ConnectionError):
        sys.exit(0)
    try:
        answer = json.dumps(handler(event, context)).encode()
    except Exception as e:
        doc = {"errorMessage": str(e), "errorType": type(e).__name__, "stackTrace": traceback.format_exc().splitlines()}
        post(f"/invocation/{context.aws_request_id}/error", json.dumps(doc).encode())
        continue
    post(f"/invocation/{context.aws_request_id}/response", answer)
