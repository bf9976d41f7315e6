"""The browser-facing security headers every answer of every surface carries, in one place.

Contract: `for_response(mimetype, is_https_only)` gives the headers for one answer. An HTML
screen gets a Content-Security-Policy that allows only Tessera's own scripts and stylesheets
(no inline `<script>`, `<style>`, `style="..."` or `on...=` anywhere: the templates keep them
in `config_ui/static`, and `tests/e2e/test_csp_browser.py` opens every main screen in Chromium
to prove no violation); anything else (JSON, metrics, static files) gets a policy that allows
nothing at all, because no browser should ever render it as a document. Every answer says it
may not be framed, must not be content-sniffed, and sends the referrer to Tessera alone.

Flask answers get them from `install` (an `after_request` hook, so error pages and static files
too); the storefront's WSGI edge (`storefront.resolve_edge`), which answers before Flask, sends
`for_response("application/json", ...)` itself.

Choices:
- `img-src 'self' data: https:`: a preview shows the layout's hero image and the catalog's item
  images, which live on the shop's CDN (`https://...`, see hero_banner.v1.schema.json); an
  image runs no code, so allowing any https image costs only that the CDN sees a preview.
- `Referrer-Policy: same-origin`: admin URLs carry page slugs, experiment keys and, in previews,
  a shopper id; no other site needs them, and the screens link nowhere that does.
- `Strict-Transport-Security` only when `TESSERA_SECURE_COOKIES` is on: that setting is the
  operator saying Tessera is served over HTTPS. Sent over plain HTTP on a laptop it would do
  nothing, but sent by a deployment that later drops HTTPS it would lock browsers out for a year.
"""

from __future__ import annotations

from flask import Flask, Response

PAGE_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: https:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))  # fmt: skip
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"  # JSON and other non-documents: render nothing
COMMON = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def for_response(mimetype: str | None, is_https_only: bool) -> tuple[tuple[str, str], ...]:
    """The security headers for an answer of this media type; HSTS only when served over HTTPS."""
    policy = PAGE_POLICY if mimetype == "text/html" else DATA_POLICY
    return (("Content-Security-Policy", policy), *COMMON, *((HSTS,) if is_https_only else ()))


def install(app: Flask, *, is_https_only: bool) -> None:
    """Add the headers to every answer Flask makes (views, error handlers, static files). A view
    that sets one of them itself keeps its own value."""

    def add_security_headers(response: Response) -> Response:
        for name, value in for_response(response.mimetype, is_https_only):
            if name not in response.headers:
                response.headers[name] = value
        return response

    app.after_request(add_security_headers)
