"""Domain errors raised by services, and the app's error pages."""

from __future__ import annotations

import math

from flask import current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from app.core import clock


class ServiceError(Exception):
    """A refused action, with a message for the user and optionally the form field at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class FieldErrors(ServiceError):
    """Several refusals at once, each with its field (or None for the form as a whole), so
    a form lists every problem in one go instead of the first one found."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        super().__init__(problems[0][1], field=problems[0][0])
        self.problems = problems


class NotFound(LookupError):
    """A service was asked for an object that does not exist, or is not the caller's to
    know about: the portal answers 404 (one handler below), having rolled back."""


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/")


def _page(status: int, title: str, message: str):
    if _wants_json():
        return jsonify({"error": title, "message": message}), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_errorhandlers(app) -> None:
    """Generic pages for every error: nothing internal is ever shown."""

    @app.errorhandler(400)
    def bad_request(error):
        from app.core.inputs import NulRefused

        if isinstance(error, NulRefused):
            return _page(400, "Text that cannot be stored", error.description)
        return _page(400, "Bad request", "The request could not be understood. Please try again.")

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        current_app.logger.warning("CSRF check failed on %s: %s", request.path, error.description)
        return _page(
            400,
            "Form expired",
            "This form had expired or was not sent from this site, so nothing was changed. "
            "Go back, reload the page and try again.",
        )

    @app.errorhandler(403)
    def forbidden(error):
        return _page(
            403,
            "Access denied",
            "You do not have permission to open this page. If you think you should, "
            "ask the superhub administrator for access.",
        )

    @app.errorhandler(NotFound)
    @app.errorhandler(404)
    def not_found(error):
        return _page(404, "Page not found", "We could not find that page. Check the address.")

    @app.errorhandler(405)
    def method_not_allowed(error):
        return _page(405, "Not allowed", "That action cannot be done this way.")

    @app.errorhandler(413)
    def too_large(error):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        size = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
        return _page(
            413, "Too large", f"What you sent is larger than {size}, so nothing was saved."
        )

    @app.errorhandler(429)
    def too_many(error):
        from app.extensions import limiter

        current = limiter.current_limit
        current_app.logger.warning(
            "throttled: %s %s from %s (limit %s)",
            request.method,
            request.path,
            request.remote_addr,
            current.limit if current else "?",
        )
        seconds = current.reset_at - clock.now().timestamp() if current else 60
        minutes = max(1, math.ceil(seconds / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return _page(
            429,
            "Too many attempts",
            f"Too many attempts, try again in {minutes} {unit}. Nothing was changed.",
        )

    @app.errorhandler(500)
    def server_error(error):
        return _page(
            500,
            "Something went wrong",
            "An unexpected error stopped this request and nothing was changed. "
            "Please try again; if it keeps happening, contact the superhub.",
        )
