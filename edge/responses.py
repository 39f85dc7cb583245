"""The error answers every JSON operation can give, for the OpenAPI document.

Passed as ``responses=`` where the app includes its JSON routers, so each operation declares
the statuses it really answers besides its own (api.errors.declare_error_shape gives each of
them the ``Error`` body ``{error, detail, field}``):

- 400: a refusal of the domain of no more specific kind (edge/errors.py status_for);
- 401: no caller, or a token, cookie or agency signature that does not hold;
- 403: a caller whose role or scope does not allow it (core/access.py decides);
- 404: what the path names does not exist, or is not the caller's to know about;
- 409: the state of the thing forbids it now (a sealed bag, a cancelled case, a used nonce);
- 413: a body past the edge's size limit (api/guard.py; a non-UTF-8 body is a 422);
- 429: past a per-address or per-account limit (api/ratelimit.py, sign-in limits).
"""

from __future__ import annotations

from typing import Any

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Refused"},
    401: {"description": "Not signed in, or the credentials do not hold"},
    403: {"description": "The caller may not do this"},
    404: {"description": "Not found, or not the caller's"},
    409: {"description": "Not possible in the current state"},
    413: {"description": "Body too large"},
    429: {"description": "Too many requests; see Retry-After"},
}
