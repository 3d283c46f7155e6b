"""The HTTP service (``mezan serve``; the ``[service]`` extra: FastAPI, uvicorn, prometheus-client).

- :mod:`mezan.service.app` — the application: routes, size limits, quotas, errors;
- :mod:`mezan.service.auth` — who is asking: API keys, login sessions, scopes, rate limits;
- :mod:`mezan.service.protocol` — the ASGI layer: body limits, metrics, security headers, log redaction;
- :mod:`mezan.service.routes` — what each solve route accepts and runs;
- :mod:`mezan.service.jobs` — the bounded solver pool and persistent jobs;
- :mod:`mezan.service.keys`, :mod:`mezan.service.ratelimit`, :mod:`mezan.service.metrics`,
  :mod:`mezan.service.page`, :mod:`mezan.service.config`.
"""

from mezan.extras import require
from mezan.service.config import SCOPES, ServiceConfig


def create_app(config=None, store=None):
    """The FastAPI app (imported here: the service's packages are an optional extra)."""
    require("the HTTP service", "service", "meta", "flows")
    from mezan.service.app import create_app as build  # the service extra

    return build(config, store)


__all__ = ["SCOPES", "ServiceConfig", "create_app"]
