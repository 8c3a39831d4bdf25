"""The dashboard's web app: small Starlette routes over :class:`~scitune.dashboard.views.Views`.

Every route is a GET (any other method gets 405) and the store is opened read-only, so nothing a
browser sends can change it. Pages are one static HTML shell that holds no stored text; the
script fills it through ``textContent`` only, so a name, reason, note or goal holding HTML or
script is shown as text. A Content-Security-Policy allows scripts from this server alone (no
inline script, no CDN). With a token, every request must carry it (``Authorization: Bearer``,
the ``scitune_token`` cookie, or ``?token=`` once, which sets the cookie) or gets 401.
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any

import plotly
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from scitune.dashboard.views import Views, plain
from scitune.errors import ScituneError
from scitune.store.reads import StoreReads

STATIC = Path(__file__).parent / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
COOKIE = "scitune_token"
# plotly.js's WebGL traces (parallel coordinates) compile their shaders with Function: 'unsafe-eval'.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(plain(data), allow_nan=False), status, media_type="application/json")


def _raw_json(text: str) -> Response:
    return Response(text, media_type="application/json")


def _error(err: Exception) -> Response:
    if isinstance(err, ScituneError):
        return _json({"error": err.message, "hint": err.hint}, 404 if "no " in err.message[:40] else 400)
    return _json({"error": str(err)}, 400)


def create_app(store: StoreReads, token: str | None = None, allowed_hosts: list[str] | None = None,
               wait: float = 1.5, isolate: bool = True) -> Starlette:
    """The app over ``store``. ``token``: required on every request when given. ``allowed_hosts``:
    the Host headers accepted (guards a loopback server against DNS rebinding); None accepts any.
    ``wait``: seconds an experiment's page waits for the report's checks before answering without them.
    ``isolate``: run those checks in their own process (see :class:`~scitune.dashboard.views.Views`)."""
    views = Views(store, isolate)
    views.wait = wait

    async def shell(request: Request) -> Response:
        return FileResponse(STATIC / "page.html", media_type="text/html")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            return FileResponse(PLOTLY_JS, media_type="text/javascript")
        path = STATIC / name
        if name not in {"app.js", "style.css"} or not path.is_file():
            return PlainTextResponse("not found", 404)
        return FileResponse(path, media_type="text/javascript" if name.endswith(".js") else "text/css")

    def guarded(fn):  # type: ignore[no-untyped-def]
        async def route(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            try:
                return await run_in_threadpool(fn, request)
            except (ScituneError, KeyError, ValueError) as err:
                return _error(err)

        return route

    def experiments(request: Request) -> Response:
        return _json(views.experiments())

    def overview(request: Request) -> Response:
        return _json(views.overview(request.path_params["name"]))

    def version(request: Request) -> Response:
        return _json(views.version(request.path_params["name"]))

    def plots(request: Request) -> Response:
        found = views.plots(request.path_params["name"])
        return _json({"pending": True}, 202) if found is None else _raw_json(found)

    def trials(request: Request) -> Response:
        q = request.query_params
        ranges: dict[str, tuple[float | None, float | None]] = {}
        for item in q.getlist("range"):  # NAME:LOW:HIGH, either end may be empty
            name, _, rest = item.partition(":")
            low, _, high = rest.partition(":")
            ranges[name] = (float(low) if low else None, float(high) if high else None)
        states = [s for s in q.get("state", "").split(",") if s]
        return _json(views.trial_page(
            request.path_params["name"], study=q.get("study") or None, states=states, ranges=ranges,
            sort=q.get("sort", "id"), descending=q.get("desc", "0") == "1", limit=int(q.get("limit", 50)),
            offset=int(q.get("offset", 0)),
        ))

    def trial(request: Request) -> Response:
        return _json(views.trial(int(request.path_params["trial_id"])))

    def compare(request: Request) -> Response:
        q = request.query_params
        if not q.get("a") or not q.get("b"):
            return _json({"error": "name two trials or studies: ?a=EXPERIMENT/STUDY&b=EXPERIMENT/STUDY/NUMBER"}, 400)
        return _json(views.compare(q["a"], q["b"]))

    def parallel(request: Request) -> Response:
        q = request.query_params
        top = int(q["top"]) if q.get("top") else None
        return _raw_json(views.parallel(request.path_params["name"], q.get("study") or None, top,
                                        q.get("log", "0") == "1", q.get("infeasible", "1") == "1"))

    routes = [
        Route("/", shell), Route("/e/{name}", shell), Route("/e/{name}/trials", shell),
        Route("/e/{name}/parallel", shell), Route("/t/{trial_id:int}", shell), Route("/compare", shell),
        Route("/static/{name}", static),
        Route("/api/experiments", guarded(experiments)),
        Route("/api/e/{name}", guarded(overview)),
        Route("/api/e/{name}/version", guarded(version)),
        Route("/api/e/{name}/plots", guarded(plots)),
        Route("/api/e/{name}/trials", guarded(trials)),
        Route("/api/e/{name}/parallel", guarded(parallel)),
        Route("/api/t/{trial_id:int}", guarded(trial)),
        Route("/api/compare", guarded(compare)),
    ]
    middleware = [Middleware(BaseHTTPMiddleware, dispatch=_headers)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    if token:
        middleware.insert(0, Middleware(BaseHTTPMiddleware, dispatch=_token_check(token)))
    return Starlette(routes=routes, middleware=middleware)


async def _headers(request: Request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def _token_check(token: str):  # type: ignore[no-untyped-def]
    expected = token.encode()

    def matches(given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), expected)

    async def dispatch(request: Request, call_next):  # type: ignore[no-untyped-def]
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else None
        from_query = request.query_params.get("token")
        if not (matches(bearer) or matches(request.cookies.get(COOKIE)) or matches(from_query)):
            return PlainTextResponse("401: this dashboard needs its access token (?token=...)", 401,
                                     headers={"WWW-Authenticate": "Bearer"})
        response = await call_next(request)
        if matches(from_query):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    return dispatch
