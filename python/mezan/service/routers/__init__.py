"""The service's routes, one FastAPI ``APIRouter`` per area: solves, jobs, the service's own state, the pages.

:func:`mezan.service.app.create_app` includes :data:`ROUTERS`; a new route goes into its area's module.
"""

from mezan.service.routers import jobs, pages, solve, status

ROUTERS = (solve.router, jobs.router, status.router, pages.router)
"""Every router, in the order the OpenAPI schema lists them."""

__all__ = ["ROUTERS"]
