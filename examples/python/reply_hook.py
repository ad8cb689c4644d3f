"""A wxcomponent reply hook: the message function invokes it with each message
no built-in handler takes and sends its answer as the passive reply.

Deploy it as a Python Lambda function and name it in the stack's
ReplyHookFunction parameter. The request and answer schema is in the README
("Build on the stack"). Answer within the request's deadline_ms: a late
answer is dropped and the message answered "success".
"""


def handler(event, context):
    message = event["message"]
    customer = event.get("customer_ref", "")
    kind = message.get("MsgType")
    if kind == "text":
        return {"type": "text", "content": f"[{customer}] you said: {message.get('Content', '')}"}
    if kind == "event" and message.get("Event") == "subscribe":
        return {
            "type": "news",
            "articles": [{"title": "Welcome", "description": "Thanks for following", "url": "https://example.com/welcome"}],
        }
    if kind == "image":
        # Send the user's own picture back.
        return {"type": "image", "media_id": message["MediaId"]}
    return {"type": "none"}
