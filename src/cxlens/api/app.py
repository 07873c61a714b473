"""The FastAPI application: one error handler for the whole face, routers from each room."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cxlens.api.collect import CollectEndpoints
from cxlens.api.decide import DecideEndpoints
from cxlens.api.responses import JSON, error_response
from cxlens.api.runtime import Runtime
from cxlens.config import Settings
from cxlens.decide.service import EngineHolder
from cxlens.errors import CxlensError, validation_problems
from cxlens.web import mount as mount_console

log = logging.getLogger(__name__)

# Rooms that serve HTTP; each module has ``router``. The Segment collection endpoints and /v1/decide
# are not routers but ASGI middleware (``CollectEndpoints``, ``DecideEndpoints``), being hot paths:
# see ADR 0005 and ADR 0007.
ROUTER_MODULES = (
    "profiles", "privacy", "quality", "admin", "surveys", "journeys", "experiments",
    "segments", "analytics", "voc",
)


def create_app(settings: Settings) -> FastAPI:
    """Build the app. The store opens and the collector starts when the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.open(settings)
        app.state.runtime = runtime
        await runtime.start()
        try:
            yield
        finally:
            # the decision engine first: its journal's last batch needs the store still open
            await asyncio.to_thread(EngineHolder.of(app.state).stop)
            await runtime.stop()

    app = FastAPI(
        title="cxlens",
        version="0.1.0",
        default_response_class=JSON,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(CollectEndpoints)
    app.add_middleware(DecideEndpoints)
    for name in ROUTER_MODULES:
        app.include_router(import_module(f"cxlens.api.{name}").router)
    mount_console(app)
    return app


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CxlensError)
    async def _domain_error(request: Request, exc: CxlensError) -> JSON:
        return error_response(exc, request.method, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSON:
        problems = validation_problems(exc.errors())
        message = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return JSON(
            {"code": "invalid_input", "message": message, "details": {"problems": problems}},
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSON:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSON({"code": code, "message": str(exc.detail)},
                              status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSON:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSON(
            {"code": "internal_error", "message": "an unexpected error occurred; it has been logged"},
            status_code=500,
        )
