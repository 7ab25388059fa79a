"""Jinja set-up for the NHS.UK frontend templates and the vendored assets served by the app."""
from __future__ import annotations

from flask import Flask, url_for
from jinja2 import ChainableUndefined, PackageLoader

NHSUK_FRONTEND_VERSION = "10.6.1"  # matches nhsuk-frontend-jinja 0.10.2; see web/static/nhsuk/README.md


def nhsuk_loader() -> PackageLoader:
    """The `nhsuk/...` page template and component macros of nhsuk-frontend-jinja."""
    return PackageLoader("nhsuk_frontend_jinja")


def init_app(app: Flask) -> None:
    """Let templates extend `nhsuk/template.jinja`; must run before the first template renders.

    The NHS macros read optional nested parameters (`params.hint.text`), which needs
    `ChainableUndefined`; our own templates are written to work with it too.
    """
    if "jinja_env" in app.__dict__:  # already built: change the live environment
        app.jinja_env.undefined = ChainableUndefined
    else:
        app.jinja_options = {**app.jinja_options, "undefined": ChainableUndefined}

    @app.context_processor
    def _nhsuk_context():
        return {"assetPath": url_for("static", filename="nhsuk/assets"),
                "nhsuk_frontend_version": NHSUK_FRONTEND_VERSION}
