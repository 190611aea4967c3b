"""`/api/openapi.json`: the API's schema, behind a login like the API itself (FastAPI's own
schema route would be open to anyone). A site's dashboard and a site list each serve theirs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ventwatch.dashboard.auth import EVERYONE

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/openapi.json", dependencies=[Depends(EVERYONE)], include_in_schema=False)
def openapi(request: Request) -> dict[str, Any]:
    """The API's OpenAPI schema, for signed-in users and token holders."""
    schema: dict[str, Any] = request.app.openapi()
    return schema
