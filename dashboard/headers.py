"""Security headers of every response: only our own files may run or style a page, and no
cache keeps what a signed-in user was shown."""

from __future__ import annotations

# Only our own files may run or style the page: a payload that slipped past escaping still
# could not load or execute anything.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Plotly.js inserts its own stylesheet rules at run time (plotly/plotly.js#7543); blocked, its
# titles and legends land in the wrong place. Pages with charts allow inline styles, never
# inline scripts.
CHART_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Pages and API answers show what one signed-in user may see (and carry their forms' CSRF
# token): no browser cache or proxy may keep a copy for the next person at a shared school
# computer to find with Back or in the cache. Static files (style, scripts, Plotly.js) hold
# nothing of anyone's and stay cacheable.
NO_STORE = ("Cache-Control", "no-store")
