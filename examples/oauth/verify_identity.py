"""Verify the identity wxcomponent hands to your redirect_uri.

After web authorization (GET /wechat/oauth/{appid}?scope=...&redirect_uri=...),
the platform redirects the browser to redirect_uri with a `wx_identity` query
parameter: a signed, expiring token that names the WeChat user. Check it with
the platform's state secret (SSM parameter <prefix>state_secret) before you
trust anything in it. Standard library only; Python 3.8 or later.

    identity = verify_identity(state_secret, request.args["wx_identity"])
    identity["openid"], identity.get("unionid"), identity.get("profile")

Raises ValueError when the token is forged, malformed or expired. An identity
is valid for 5 minutes; to accept each one once, remember identity["nonce"]
until identity["exp"].

Command line: WX_STATE_SECRET=... python3 verify_identity.py TOKEN
prints the identity as JSON, or the reason it is refused (exit status 1);
WX_NOW (Unix seconds) checks the expiry at another time than now.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time

_PURPOSE = b"wxcomponent oauth identity v1"
_MAX_LEN = 4096
_CLOCK_SKEW = 300  # seconds the issuer's clock may run ahead


def _b64decode(part):
    if not part or "=" in part:
        raise ValueError("identity malformed")
    data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    # One encoding per value: refuse non-canonical trailing bits.
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != part:
        raise ValueError("identity malformed")
    return data


def verify_identity(state_secret, token, now=None):
    """Return the identity (a dict) carried by token, or raise ValueError."""
    if not token:
        raise ValueError("identity missing")
    if len(token) > _MAX_LEN:
        raise ValueError("identity malformed")
    signed, dot, sig = token.rpartition(".")
    version, _, payload = signed.partition(".")
    if not dot or version != "v1" or not payload:
        raise ValueError("identity malformed")
    key = hmac.new(state_secret.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()
    want = hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest()
    try:
        got = _b64decode(sig)
    except (ValueError, UnicodeError):
        raise ValueError("identity malformed")
    if not hmac.compare_digest(got, want):
        raise ValueError("identity signature invalid")
    identity = json.loads(_b64decode(payload))
    now = time.time() if now is None else now
    iat, exp = identity.get("iat", 0), identity.get("exp", 0)
    if not identity.get("openid") or exp <= iat or iat > now + _CLOCK_SKEW:
        raise ValueError("identity malformed")
    if now >= exp:
        raise ValueError("identity expired")
    return identity


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.environ.get("WX_STATE_SECRET"):
        sys.exit("usage: WX_STATE_SECRET=... python3 verify_identity.py TOKEN")
    at = float(os.environ["WX_NOW"]) if os.environ.get("WX_NOW") else None
    try:
        identity = verify_identity(os.environ["WX_STATE_SECRET"], sys.argv[1], at)
        print(json.dumps(identity, ensure_ascii=False, sort_keys=True))
    except ValueError as e:
        print(e, file=sys.stderr)
        sys.exit(1)
