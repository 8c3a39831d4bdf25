"""``scitune dashboard``: a live, read-only web view of a store, fast at 100,000 trials.

:func:`serve` opens the store read-only and serves :func:`create_app` with uvicorn on loopback
(127.0.0.1) unless told otherwise; any other address needs an access token. See docs/dashboard.md.
"""

from __future__ import annotations

import ipaddress
import os
import socket

from scitune.errors import ScituneError

TOKEN_ENV = "SCITUNE_DASHBOARD_TOKEN"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) binds loopback only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind anything but loopback without an access token."""
    if not is_loopback(host) and not token:
        raise ScituneError(
            f"--host {host}: the dashboard would be reachable from other machines without an access token",
            hint=f"pass --token (or set ${TOKEN_ENV}), or keep the default --host 127.0.0.1",
        )


def create_app(store_url: str | None = None, token: str | None = None, host: str = "127.0.0.1",  # type: ignore[no-untyped-def]
               wait: float = 1.5, isolate: bool = True):
    """The Starlette app over the store at ``store_url``, opened read-only (``wait``: see
    :func:`scitune.dashboard.app.create_app`)."""
    from scitune.dashboard.app import LOOPBACK_HOSTS
    from scitune.dashboard.app import create_app as _create
    from scitune.store.readonly import ReadOnlyStore

    hosts = LOOPBACK_HOSTS if is_loopback(host) and not token else None
    return _create(ReadOnlyStore(store_url), token=token, allowed_hosts=hosts, wait=wait, isolate=isolate)


def serve(store_url: str | None = None, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          token: str | None = None, on_ready=None) -> None:  # type: ignore[no-untyped-def]
    """Serve the dashboard until interrupted. ``token`` defaults to ``$SCITUNE_DASHBOARD_TOKEN``."""
    token = token or os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    try:
        import uvicorn
    except ImportError:
        raise ScituneError("the dashboard needs starlette and uvicorn", hint="pip install 'scitune[dashboard]'") from None
    app = create_app(store_url, token, host)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as err:
            raise ScituneError(f"--port {port}: cannot listen on {host}:{port} ({err.strerror})",
                               hint="pick another --port") from None
    if on_ready is not None:
        on_ready(f"http://{host}:{port}/" + (f"?token={token}" if token else ""))
    uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning")


serve_dashboard = serve  # the name scitune exports

__all__ = ["DEFAULT_PORT", "TOKEN_ENV", "check_bind", "create_app", "is_loopback", "serve", "serve_dashboard"]
