"""The live page at ``GET /``: server-rendered HTML, charts as inline SVG, no front-end build.

It shows the caller's recent jobs (an admin's: everyone's) with their status (the page reloads itself
every 2 s while one is queued or running), the anytime curve (best objective vs elapsed seconds) of the
selected job, and MetaFlow's Elo tables. A browser logs in at ``/login`` (the key as a form field, traded
for a session cookie): no key is ever part of a link. The pages need no script, no external resource and
no frame: the app serves them with a Content-Security-Policy that allows only their inline style
(:data:`CSP`).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from mezan.store import StoredDataError

WIDTH, HEIGHT, MARGIN, LEFT = 600, 260, 40, 96  # LEFT: room for the objective labels
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
STYLE = ("body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
         "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}.running .status{color:#1f6feb}"
         ".done .status{color:#1a7f37}.failed .status,.interrupted .status{color:#cf222e}"
         "form.logout{float:right}.error{color:#cf222e}")


def curve_svg(curve: list[list[float]], title: str, until: float | None = None) -> str:
    """An SVG step chart of an anytime curve [[elapsed, best], ...] (the best objective over time),
    drawn on to ``until`` seconds (the job's run time) when given."""
    if not curve:
        return f'<p class="empty">no progress reported yet for {escape(title)}</p>'
    ts = [float(t) for t, _ in curve]
    vs = [float(v) for _, v in curve]
    t_max = max(ts[-1], until or 0.0, 1e-9)
    lo, hi = min(vs), max(vs)
    span = (hi - lo) or max(abs(hi), 1.0)

    def x(t: float) -> float:
        return LEFT + (WIDTH - LEFT - MARGIN) * t / t_max

    def y(v: float) -> float:
        return HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * (v - lo) / span

    points = []
    for k, (t, v) in enumerate(zip(ts, vs, strict=True)):
        if k:
            points.append(f"{x(t):.1f},{y(vs[k - 1]):.1f}")
        points.append(f"{x(t):.1f},{y(v):.1f}")
    if t_max > ts[-1]:
        points.append(f"{x(t_max):.1f},{y(vs[-1]):.1f}")
    dots = "".join(f'<circle class="point" cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5"/>'
                   for t, v in zip(ts, vs, strict=True))
    return (f'<svg id="curve" role="img" aria-label="anytime curve of {escape(title)}" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>'
            f'<line x1="{LEFT}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="#333"/>'
            f'<line x1="{LEFT}" y1="{MARGIN}" x2="{LEFT}" y2="{HEIGHT - MARGIN}" stroke="#333"/>'
            f'<text x="{(LEFT + WIDTH - MARGIN) / 2}" y="{HEIGHT - 12}" text-anchor="middle">elapsed (s), 0 – '
            f'{t_max:.3g}</text>'
            f'<text x="{LEFT}" y="{MARGIN - 12}" text-anchor="middle">best objective</text>'
            f'<text x="{LEFT - 6}" y="{y(hi) + 4:.1f}" text-anchor="end">{hi:.6g}</text>'
            f'<text x="{LEFT - 6}" y="{y(lo) + 4:.1f}" text-anchor="end">{lo:.6g}</text>'
            f'<polyline class="curve" fill="none" stroke="#1f6feb" stroke-width="2" points="{" ".join(points)}"/>'
            f'{dots}</svg>')


def _link(job_id: str) -> str:
    return "/?" + urlencode({"job": job_id})


def experiments_table(experiments: list[dict[str, Any]]) -> str:
    """OptiBench's experiments, each linked to its report (``/experiments/ID/report``)."""
    if not experiments:
        return "<p class=empty>no experiments yet (<code>mezan bench run</code>)</p>"
    rows = "".join(f'<tr class=experiment><td>{escape(e["name"])}</td><td>{e["runs"]}</td>'
                   f'<td>{escape(", ".join(e["solvers"]))}</td>'
                   f'<td><a href="/experiments/{escape(e["id"])}/report">report</a></td></tr>' for e in experiments)
    return f"<table id=experiments><tr><th>experiment</th><th>runs</th><th>solvers</th><th></th></tr>{rows}</table>"


def render(queue: Any, metaflow: Any, *, selected: str | None, limit: int = 20, owner: str | None = None,
           logout: bool = False, experiments: list[dict[str, Any]] | None = None) -> str:
    """The page for one caller: ``owner`` the key id whose jobs it shows (None: every job, for an admin);
    ``logout`` adds the log-out button (a browser session); ``experiments``: OptiBench's, linked to their reports."""
    jobs = queue.recent(limit, owner=owner)
    live = any(j.status in ("queued", "running") for j in jobs)
    rows = []
    for j in jobs:
        best = "" if j.best is None else f"{j.best:.6g}"
        elapsed = "" if j.elapsed is None else f"{j.elapsed:.2f}"
        rows.append(f'<tr class="job {escape(j.status)}"><td><a href="{escape(_link(j.id))}">{escape(j.id)}</a>'
                    f"</td><td>{escape(j.route)}</td><td>{escape(j.solver)}</td><td class=status>{escape(j.status)}"
                    f"</td><td>{best}</td><td>{elapsed}</td></tr>")
    job_table = ("<table id=jobs><tr><th>job</th><th>route</th><th>solver</th><th>status</th><th>best</th>"
                 "<th>elapsed (s)</th></tr>" + "".join(rows) + "</table>") if rows else "<p class=empty>no jobs yet</p>"
    chosen = selected or (jobs[0].id if jobs else None)
    chart = ""
    if chosen:
        try:
            job = queue.get(chosen)
            if owner is not None and job.owner != owner:  # someone else's: as if it did not exist
                raise LookupError(chosen)
            chart = (f"<h2>Anytime curve of job {escape(job.id)} ({escape(job.status)})</h2>"
                     + curve_svg(job.curve, job.id, until=job.elapsed))
        except Exception:
            chart = f"<p class=empty>no job {escape(chosen)}</p>"
    ratings = []
    try:
        status = metaflow.status()
    except StoredDataError:  # the page still shows the jobs (and no server path); the operator runs the check
        status = {"ratings": {}}
        ratings.append("<p class=empty>MetaFlow's stored data fails its checks: ratings unavailable until the "
                       "server's operator runs <code>mezan meta verify</code></p>")
    for scope, table in status["ratings"].items():
        body = "".join(f"<tr><td>{escape(s)}</td><td>{r['rating']:.0f}</td><td>{r['games']}</td></tr>"
                       for s, r in table.items())
        ratings.append(f"<h3>{escape(str(scope))}</h3><table class=ratings><tr><th>solver</th><th>Elo</th>"
                       f"<th>games</th></tr>{body}</table>")
    refresh = '<meta http-equiv="refresh" content="2">' if live else ""
    button = ('<form class=logout method=post action="/logout"><button type=submit>log out</button></form>'
              if logout else "")
    return (f"<!doctype html><html><head><meta charset=utf-8>{refresh}<title>MEZAN</title><style>{STYLE}"
            f"</style></head><body>{button}<h1>MEZAN</h1><h2>Recent jobs</h2>" + job_table + chart +
            "<h2>MetaFlow ratings</h2>" + ("".join(ratings) or "<p class=empty>no races recorded yet</p>") +
            "<h2>Experiments</h2>" + experiments_table(experiments or []) + "</body></html>")


def login(error: str | None = None) -> str:
    """The log-in form: the key is sent once, in a POST body, and traded for a session cookie."""
    message = f"<p class=error>{escape(error)}</p>" if error else ""
    return (f"<!doctype html><html><head><meta charset=utf-8><title>MEZAN: log in</title><style>{STYLE}</style>"
            f"</head><body><h1>MEZAN</h1>{message}<form method=post action=\"/login\"><label>API key "
            "<input type=password name=key autocomplete=current-password required size=50></label> "
            "<button type=submit>log in</button></form><p>A key with scope read or higher (<code>mezan keys "
            "create</code>). The page then shows your own jobs.</p></body></html>")
