"""Prometheus metrics of one server (its own registry, so several apps in one process do not mix)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

disable_created_metrics()  # no *_created series: they double the output and nobody graphs them

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("mezan_requests", "HTTP requests by route template, method and status code",
                                ("route", "method", "status"), registry=self.registry)
        self.latency = Histogram("mezan_request_seconds", "HTTP request latency by route template and status code",
                                 ("route", "status"), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.solves = Counter("mezan_solves", "finished solves by solver and status", ("solver", "status"),
                              registry=self.registry)
        self.queue_depth = Gauge("mezan_queue_depth", "solves waiting for a worker", registry=self.registry)
        self.in_flight = Gauge("mezan_solves_in_flight", "solves running now", registry=self.registry)
        self.stuck = Gauge("mezan_workers_stuck", "abandoned worker threads still inside a solve that overran its "
                           "time limit + grace (each was replaced)", registry=self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, str(status)).observe(seconds)

    def solved(self, solver: str, status: str) -> None:
        self.solves.labels(solver, status).inc()

    def render(self, queue_depth: int, in_flight: int, stuck: int = 0) -> bytes:
        self.queue_depth.set(queue_depth)
        self.in_flight.set(in_flight)
        self.stuck.set(stuck)
        return generate_latest(self.registry)
