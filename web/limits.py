"""Request size limits: body bytes per route, and JSON that cannot exhaust the parser's stack."""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge

UPLOAD_PATHS = ("/admin/import", "/api/v1/import/")  # directory imports: CSV or JSON files of services


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that input nested past the interpreter's stack is a ValueError (a 400
    wherever `request.get_json` is used) instead of a RecursionError (a 500), and NaN or Infinity
    literals are refused (they are not JSON, and poison every comparison downstream)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_constant", _refuse_constant)
        try:
            return json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def body_limit(path: str, *, max_body: int, max_upload: int) -> int:
    """The most bytes a request to `path` may send: uploads get more than forms and API calls."""
    return max_upload if path.startswith(UPLOAD_PATHS) else max_body


def init_app(app: Flask, *, max_body: int, max_upload: int) -> None:
    """Install the JSON provider, the per-route body limit, and a 413 that says what to do."""
    app.json_provider_class = SafeJSONProvider
    app.json = SafeJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = max(max_body, max_upload)
    app.config["MAX_FORM_MEMORY_SIZE"] = max_body  # any one non-file form field

    @app.before_request
    def _limit_body():
        limit = body_limit(request.path, max_body=max_body, max_upload=max_upload)
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            raise RequestEntityTooLarge(_too_large(limit))

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large_answer(exc: RequestEntityTooLarge):
        limit = body_limit(request.path, max_body=max_body, max_upload=max_upload)
        message = _too_large(limit)
        if request.path.startswith("/api/"):
            return jsonify({"error": "request too large", "errors": {"body": message}}), 413
        return f"413 Request too large: {message}", 413, {"Content-Type": "text/plain; charset=utf-8"}


def _too_large(limit: int) -> str:
    return (f"is larger than {limit // 1024} KiB, the most this address accepts; send less "
            f"(a complaint in brief, or split an import into several files)")
