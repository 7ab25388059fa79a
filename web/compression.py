"""Compressed responses (brotli, else gzip) with Flask-Compress: pages, styles, scripts and JSON.

A call handler's page is mostly repeated markup; compressed it crosses a busy or remote link several
times faster. Flask-Compress is used rather than hand-written middleware because it negotiates
Accept-Encoding, sets Vary, skips small and already-compressed bodies, and keeps ETags right.
"""
from __future__ import annotations

from flask import Flask
from flask_compress import Compress

MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript", "application/json",
             "application/geo+json", "image/svg+xml", "text/plain"]


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])  # brotli where the browser takes it
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])  # static files are streamed
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)  # near gzip's speed, smaller output
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 1024)  # below one packet compression gains nothing
    Compress(app)
