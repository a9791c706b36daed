"""Admin sign-in protection with django-axes: where a request comes from, and what a locked-out sign-in sees.

Axes counts failed sign-ins per account and per address (``AXES_LOCKOUT_PARAMETERS``) and refuses a sign-in
once either reaches ``AXES_FAILURE_LIMIT``, until ``AXES_COOLOFF_TIME`` has passed since the last failure.
"""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class SignInLockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check for every sign-in that comes with a request (the admin's sign-in form, any view).

    A call without a request (``Client.login`` in tests, a script) cannot be an attacker's HTTP request; axes
    would raise on it, so it is left to the next backend here. Failures are counted only with a request too.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind ``NUM_PROXIES`` trusted reverse proxies (the setting the API's throttles
    use) it is the address the outermost trusted proxy saw, read from X-Forwarded-For counted from the right;
    otherwise REMOTE_ADDR. Without this, every request behind a proxy shares the proxy's address, and one
    attacker's failures would lock everybody out."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
        if addresses:
            return addresses[-min(proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """429 with a page that says what happened, for how long, and what to do; Retry-After in seconds."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": seconds // 60}
    response = HttpResponse(render_to_string("admin/locked_out.html", context, request=request), status=429)
    response["Retry-After"] = str(seconds)
    return response
