"""The sign-in lockout backend."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' check on every sign-in made over HTTP.

    Every sign-in form passes the request (Django's AuthenticationForm, the two-factor wizard,
    DRF's authentication), so each is counted and locked out. A call without a request comes from
    code, not from a client (the test client's `login()`, a shell): there is no client address to
    lock, so the check is left to the next backend instead of failing.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
