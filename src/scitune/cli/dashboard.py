"""``scitune dashboard``: the face of :mod:`scitune.dashboard`; serves the live, read-only web view."""

from __future__ import annotations

from typing import Annotated

import typer

from scitune.cli._app import StoreOption, app, out


@app.command()
def dashboard(
    store: StoreOption = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 8765,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but loopback needs --token.")
    ] = "127.0.0.1",
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="SCITUNE_DASHBOARD_TOKEN",
                     help="Access token every request must carry (then open the printed URL once).",
                     show_default=False),
    ] = None,
) -> None:
    """Serve a live, read-only dashboard of the store: experiments, each one's answer, findings and plots
    (updating as trials finish), a paged trial table, each trial's curves and logs, compare, parallel coordinates
    and parameter importance. Ctrl-C stops it."""
    from scitune.dashboard import serve

    if not 0 < port < 65536:
        from scitune.errors import ScituneError

        raise ScituneError(f"--port {port}: not a port number (1-65535)")
    serve(store, host=host, port=port, token=token,
          on_ready=lambda url: out.print(f"scitune dashboard on {url}  (read-only; Ctrl-C stops it)",
                                         markup=False, highlight=False, soft_wrap=True))
