"""NHS-styled error pages for the browser (400, 403, 404, 405, 413, 429, 500): what went wrong and what to do."""
from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request

TITLES = {
    400: ("There is a problem with the request", "Go back, check the page and try again."),
    403: ("You cannot do that", "Sign in as someone whose role allows it, or ask an administrator."),
    404: ("Page not found", "If you typed the web address, check it is correct. If you pasted it, check you "
                            "copied the entire address."),
    405: ("That cannot be done on this page", "Go back and use the page's own buttons and links."),
    413: ("The file or form is too large", "Go back and send a smaller file."),
    429: ("Too many requests", "Wait a minute, then try again."),
    500: ("Sorry, there is a problem with the service", "The error has been logged. Try again; if it keeps "
                                                         "happening, carry on by your service's usual escalation route."),
}


def error_page(code: int, description: str | None = None) -> tuple[Any, int]:
    """The page for an HTTP error; plain text if even that cannot be drawn."""
    title, todo = TITLES.get(code, (f"Error {code}", "Go back and try again."))
    detail = description if description and code not in (404, 500) else None
    try:
        html = render_template("errors/error.html", code=code, title=title, detail=detail, todo=todo,
                               path=request.path)
    except Exception:  # the error page must never fail in turn
        current_app.logger.exception("error page could not be drawn")
        return f"{title}. {detail or ''} {todo}".strip(), code
    return html, code
