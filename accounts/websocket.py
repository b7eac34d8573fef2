"""WebSocket authentication with an API token (pages use the session cookie instead).

The token never goes in the URL, which ends up in access logs. Clients that can set headers
send `Authorization: Token <key>` with the handshake; browsers, which cannot, offer it as a
subprotocol next to `realtime`: `new WebSocket(url, ["realtime", "token.<key>"])`. The
server answers with `realtime` only, never echoing the token.
"""

from typing import Any

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework.authtoken.models import Token

TOKEN_SUBPROTOCOL_PREFIX = "token."  # noqa: S105 - a prefix, not a secret


def websocket_token(scope: dict[str, Any]) -> str | None:
    """The API token the handshake carries, if any."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() == "token" and key.strip():
                return key.strip()
    for protocol in scope.get("subprotocols") or []:
        if protocol.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            return protocol[len(TOKEN_SUBPROTOCOL_PREFIX) :]
    return None


@database_sync_to_async
def _token_user(key: str) -> Any:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return AnonymousUser()
    return token.user


class TokenAuthMiddleware(BaseMiddleware):
    """Sets `scope["user"]` from an API token when the handshake carries one (an unknown
    token is anonymous, whatever the cookie says); otherwise the session's user stands."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = websocket_token(scope)
        if key is not None:
            scope = {**scope, "user": await _token_user(key)}
        return await super().__call__(scope, receive, send)
