"""The dispatch API's two busiest calls, POST /api/v1/route and /api/v1/triage, answered without Flask's request and response objects."""
from __future__ import annotations

import gzip
import io
import logging
from typing import Any, Callable, Iterable

import orjson
from flask import Flask

from uec.inputs import InputError
from web.api import answer_route, answer_triage, bearer_user
from web.ratelimit import COUNTED, client_key

try:
    import brotli  # what Flask-Compress uses for br
except ImportError:  # pragma: no cover
    brotli = None

log = logging.getLogger("uec.fastpath")

PATHS = {"/api/v1/route": "api.route", "/api/v1/triage": "api.triage"}
COMPRESS_MIN_SIZE = 1024   # as web.compression: below one packet compression gains nothing
BROTLI_QUALITY = 5         # as web.compression
GZIP_LEVEL = 6


def _json_mimetype(content_type: str) -> bool:
    """What werkzeug's `request.is_json` says of a Content-Type."""
    mt = content_type.split(";", 1)[0].strip().lower()
    return mt == "application/json" or (mt.startswith("application/") and mt.endswith("+json"))


def _encoding(accept: str) -> str | None:
    """'br', 'gzip', '' (send it plain) or None (a header this path does not parse: q-values,
    wildcards; Flask-Compress negotiates those)."""
    if not accept:
        return ""
    tokens = {t.strip().lower() for t in accept.split(",")}
    if any(not t.isalpha() for t in tokens if t):
        return None
    if "br" in tokens and brotli is not None:
        return "br"
    return "gzip" if "gzip" in tokens else ""


class DispatchFastPath:
    """WSGI middleware in front of the Flask app for the two calls dispatch systems make most.

    A request it serves gets the answer the Flask views give, built by the same functions
    (`web.api.answer_route`, `answer_triage`) with the same checks: JSON only, the body limit, the
    per-client rate limit, token and requester role, orjson, compression as web.compression
    negotiates it, and the security headers of the middleware outside it. It skips only the framework's
    per-request objects, which cost more CPU than the route search itself.

    Anything it is not sure of goes to Flask with the body it read and the rate limit it counted (so
    nothing is counted twice): a bad body or field, a role the caller may not claim, a breached limit,
    an unusual Accept-Encoding, any error. Flask then answers it (400, 403, 413, 429, 500) exactly as
    before. UEC_API_FAST_PATH=0 sends everything to Flask.
    """

    def __init__(self, wsgi_app: Callable, flask_app: Flask, *, max_body: int):
        self.app = wsgi_app
        self.flask = flask_app
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        endpoint = PATHS.get(environ.get("PATH_INFO", ""))
        if endpoint is None or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        return self._serve(endpoint, environ, start_response)

    def _flask(self, environ: dict[str, Any], start_response: Callable, data: bytes | None = None) -> Iterable[bytes]:
        if data is not None:
            environ["wsgi.input"] = io.BytesIO(data)
        return self.app(environ, start_response)

    def _serve(self, endpoint: str, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self._flask(environ, start_response)
        encoding = _encoding(environ.get("HTTP_ACCEPT_ENCODING", ""))
        if (not 0 < length <= self.max_body or encoding is None or environ.get("HTTP_TRANSFER_ENCODING")
                or not _json_mimetype(environ.get("CONTENT_TYPE", ""))):
            return self._flask(environ, start_response)
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        limits = self.flask.extensions.get("uec_limiter")
        if limits is not None:
            try:
                key = client_key(authorization, environ.get("REMOTE_ADDR"), app=self.flask)
                breach = limits.check(endpoint, "POST", key=key)
            except Exception:  # not counted here: Flask counts it (and says what went wrong)
                log.debug("fast path: rate limit check failed", exc_info=True)
                return self._flask(environ, start_response)
            environ[COUNTED] = breach
            if breach is not None:
                return self._flask(environ, start_response)
        data = environ["wsgi.input"].read(length)
        if len(data) != length:
            return self._flask(environ, start_response, data)
        try:
            body = self.flask.json.loads(data)
        except (ValueError, TypeError, UnicodeDecodeError):
            return self._flask(environ, start_response, data)
        if not isinstance(body, dict):
            return self._flask(environ, start_response, data)
        care = self.flask.extensions["uec"]
        try:
            user = bearer_user(authorization, self.flask)
            answer = (answer_route if endpoint == "api.route" else answer_triage)(care, body, user)
        except InputError:  # raised before anything is recorded: Flask says what to fix
            return self._flask(environ, start_response, data)
        except Exception:  # Flask runs it again, and logs and answers the error as for any endpoint
            log.debug("fast path: passing a failed %s to Flask", endpoint, exc_info=True)
            return self._flask(environ, start_response, data)
        try:
            out = orjson.dumps(answer, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # a type orjson does not know: the app's own encoder
            out = self.flask.json.dumps(answer).encode()
        headers = [("Content-Type", "application/json"), ("Vary", "Accept-Encoding")]
        if encoding and len(out) >= COMPRESS_MIN_SIZE:
            if encoding == "br":
                out = brotli.compress(out, quality=BROTLI_QUALITY)
            else:
                out = gzip.compress(out, compresslevel=GZIP_LEVEL)
            headers.append(("Content-Encoding", encoding))
        headers.append(("Content-Length", str(len(out))))
        start_response("200 OK", headers)
        return [out]


def init_app(app: Flask, *, max_body: int, enabled: bool = True) -> None:
    """Put the fast path in front of the app (inside the security headers and ProxyFix)."""
    if enabled:
        app.wsgi_app = DispatchFastPath(app.wsgi_app, app, max_body=max_body)
