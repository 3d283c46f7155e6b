"""The synchronous solve routes: ``POST /qapflow/solve`` and ``POST /<route>/solve`` for every wire-form route."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from mezan.service.keys import ApiKey
from mezan.service.routes import ROUTE_TYPES
from mezan.service.schemas import SOLVE_ERRORS, QAPRequest, QAPResponse
from mezan.service.state import MODELS, WIRE_ROUTES, Service, service, solve_key

router = APIRouter(tags=["solve"])


@router.post("/qapflow/solve", response_model=QAPResponse, responses=SOLVE_ERRORS)
async def qapflow_solve(request: Request, body: QAPRequest, key: ApiKey = Depends(solve_key),
                        state: Service = Depends(service)):
    """Solve a quadratic assignment problem ``min sum A[i,j] B[p(i),p(j)]`` with a QAPFlow mode."""
    return await state.run_now(await state.admit_async(request, "qapflow", body.model_dump(), key), key, request)


def wire_route(route: str) -> None:
    """Add ``POST /<route>/solve``, whose body is the route's wire-form model (:data:`MODELS`)."""
    model = MODELS[route]

    async def endpoint(request, body, key: ApiKey = Depends(solve_key),
                       state: Service = Depends(service)) -> dict[str, Any]:
        work = await state.admit_async(request, route, body.model_dump(exclude_none=True), key)
        return await state.run_now(work, key, request)

    endpoint.__annotations__ = {"request": Request, "body": model, "key": ApiKey, "state": Service,
                                "return": dict[str, Any]}
    endpoint.__doc__ = (f"Solve a {' / '.join(ROUTE_TYPES[route])} problem given in its wire form "
                        f"(see the example and the docs).")
    router.post(f"/{route}/solve", responses=SOLVE_ERRORS, name=f"{route}_solve")(endpoint)


for _route in WIRE_ROUTES:
    wire_route(_route)
