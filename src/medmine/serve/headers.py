"""Security headers of every response, and the sandboxing policy of rendered report pages."""

from __future__ import annotations

#: Content-Security-Policy of every page: scripts only from this origin, none inline.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Report pages written by `medmine report` embed inline Plotly scripts: they are served in
#: a CSP sandbox (an opaque origin: their scripts cannot read cookies or this application).
REPORT_CSP = (
    "sandbox allow-scripts allow-popups; default-src 'none'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"
)
#: Headers set on every response (unless the route set its own).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Strict-Transport-Security": "max-age=31536000",
    "Cache-Control": "no-store",
}
