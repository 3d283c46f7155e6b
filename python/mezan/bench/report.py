"""OptiBench reports: one self-contained HTML file (inline SVG, no script, no external resource) and a LaTeX table.

The HTML holds the critical-difference diagram (Demšar 2006, fig. 1 style: average ranks on an axis, solvers whose
ranks differ by less than the critical difference joined by a bar), the Dolan–Moré performance profiles of the time
to target, the anytime curves (median line and interquartile band per solver), the per-solver and per-family
tables, the tests with their verdicts in plain words, and the environments the runs ran in.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from mezan.errors import InvalidParameterError
from mezan.outputs import check_output, write_atomic

COLORS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#57606a")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:.3f}%"


def _interval(pair: list[float]) -> str:
    low, high = pair
    return "–" if not (math.isfinite(low) and math.isfinite(high)) else f"[{_pct(low)}, {_pct(high)}]"


class _Chart:
    """A small SVG chart: axes, ticks and polylines in data coordinates (x optionally logarithmic)."""

    def __init__(self, css_class: str, x_range: tuple[float, float], y_range: tuple[float, float], *,
                 log_x: bool = False, width: int = 640, height: int = 320, x_label: str = "", y_label: str = ""):
        self.cls, self.log_x, self.w, self.h = css_class, log_x, width, height
        self.left, self.right, self.top, self.bottom = 64, 16, 16, 44
        x0, x1 = x_range
        if log_x:
            x0, x1 = math.log10(max(x0, 1e-12)), math.log10(max(x1, 1e-12))
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        self.y0, self.y1 = y_range[0], y_range[1] if y_range[1] > y_range[0] else y_range[0] + 1
        self.parts: list[str] = []
        self.x_label, self.y_label = x_label, y_label

    def px(self, x: float) -> float:
        value = math.log10(max(x, 1e-12)) if self.log_x else x
        return self.left + (value - self.x0) / (self.x1 - self.x0) * (self.w - self.left - self.right)

    def py(self, y: float) -> float:
        return self.h - self.bottom - (y - self.y0) / (self.y1 - self.y0) * (self.h - self.top - self.bottom)

    def line(self, xs: list[float], ys: list[float | None], color: str, name: str, *, step: bool = False) -> None:
        points: list[tuple[float, float]] = []
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            if y is None:
                continue
            if step and points and i > 0:
                points.append((self.px(x), points[-1][1]))
            points.append((self.px(x), self.py(y)))
        if points:
            coords = " ".join(f"{a:.1f},{b:.1f}" for a, b in points)
            self.parts.append(f'<polyline class="series" data-solver="{_e(name)}" fill="none" stroke="{color}" '
                              f'stroke-width="2.5" points="{coords}"/>')

    def band(self, xs: list[float], low: list[float | None], high: list[float | None], color: str) -> None:
        keep = [(x, lo, hi) for x, lo, hi in zip(xs, low, high, strict=True) if lo is not None and hi is not None]
        if len(keep) >= 2:
            top = [f"{self.px(x):.1f},{self.py(hi):.1f}" for x, _, hi in keep]
            bottom = [f"{self.px(x):.1f},{self.py(lo):.1f}" for x, lo, _ in reversed(keep)]
            self.parts.append(f'<polygon class="band" fill="{color}" fill-opacity="0.15" stroke="none" '
                              f'points="{" ".join(top + bottom)}"/>')

    def svg(self, names: list[str]) -> str:
        axis = [f'<line x1="{self.left}" y1="{self.h - self.bottom}" x2="{self.w - self.right}" '
                f'y2="{self.h - self.bottom}" stroke="#333"/>',
                f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{self.h - self.bottom}" stroke="#333"/>']
        for k in range(5):
            y = self.y0 + (self.y1 - self.y0) * k / 4
            axis.append(f'<text x="{self.left - 6}" y="{self.py(y) + 4:.1f}" text-anchor="end" font-size="11">'
                        f'{y:.3g}</text>')
            value = self.x0 + (self.x1 - self.x0) * k / 4
            x = 10 ** value if self.log_x else value
            axis.append(f'<text x="{self.px(x):.1f}" y="{self.h - self.bottom + 16}" text-anchor="middle" '
                        f'font-size="11">{x:.3g}</text>')
        axis.append(f'<text x="{(self.w + self.left) / 2:.0f}" y="{self.h - 6}" text-anchor="middle" '
                    f'font-size="12">{_e(self.x_label)}</text>')
        axis.append(f'<text x="14" y="{self.h / 2:.0f}" text-anchor="middle" font-size="12" '
                    f'transform="rotate(-90 14 {self.h / 2:.0f})">{_e(self.y_label)}</text>')
        legend = [f'<g class="legend"><rect x="{self.w - 190}" y="{self.top + 4 + 16 * i}" width="12" height="4" '
                  f'fill="{COLORS[i % len(COLORS)]}"/><text x="{self.w - 172}" y="{self.top + 10 + 16 * i}" '
                  f'font-size="11">{_e(n)}</text></g>' for i, n in enumerate(names)]
        return (f'<svg class="{self.cls}" xmlns="http://www.w3.org/2000/svg" width="{self.w}" height="{self.h}" '
                f'viewBox="0 0 {self.w} {self.h}">' + "".join(axis + self.parts + legend) + "</svg>")


def cd_diagram(names: list[str], ranks: list[float], cd: float | None) -> str:
    """The critical-difference diagram: an axis of average ranks 1..k (best on the left), one labelled marker per
    solver, the CD interval drawn above, and a bar under every maximal group whose ranks lie within the CD."""
    k = len(names)
    width, left, right = 640, 40, 40
    order = sorted(range(k), key=lambda i: ranks[i])
    height = 110 + 22 * k

    def x(rank: float) -> float:
        return left + (rank - 1) / max(k - 1, 1) * (width - left - right)

    parts = [f'<line x1="{x(1):.1f}" y1="50" x2="{x(k):.1f}" y2="50" stroke="#333" stroke-width="1.5"/>']
    for r in range(1, k + 1):
        parts.append(f'<line x1="{x(r):.1f}" y1="44" x2="{x(r):.1f}" y2="56" stroke="#333"/>'
                     f'<text x="{x(r):.1f}" y="38" text-anchor="middle" font-size="12">{r}</text>')
    if cd is not None and math.isfinite(cd):
        parts.append(f'<line class="cd" x1="{x(1):.1f}" y1="16" x2="{x(min(1 + cd, k)):.1f}" y2="16" '
                     f'stroke="#d1242f" stroke-width="3"/><text x="{x(1):.1f}" y="12" font-size="11">CD = {cd:.2f}'
                     f'</text>')
        groups: list[list[int]] = []
        for i, a in enumerate(order):
            members = [b for b in order[i:] if ranks[b] - ranks[a] < cd]
            if len(members) > 1 and not any(set(members) <= set(g) for g in groups):
                groups.append(members)
        for g, members in enumerate(groups):
            y = 62 + 6 * g
            parts.append(f'<line class="clique" x1="{x(ranks[members[0]]) - 3:.1f}" y1="{y}" '
                         f'x2="{x(ranks[members[-1]]) + 3:.1f}" y2="{y}" stroke="#111" stroke-width="4"/>')
    for j, i in enumerate(order):
        y = 90 + 22 * j
        right = ranks[i] <= (k + 1) / 2  # labels of the better half to the right of their line, the rest to the left
        parts.append(f'<g class="solver" data-rank="{ranks[i]:.3f}"><line x1="{x(ranks[i]):.1f}" y1="50" '
                     f'x2="{x(ranks[i]):.1f}" y2="{y}" stroke="{COLORS[i % len(COLORS)]}" stroke-width="2"/>'
                     f'<circle cx="{x(ranks[i]):.1f}" cy="50" r="5" fill="{COLORS[i % len(COLORS)]}"/>'
                     f'<text x="{x(ranks[i]) + (6 if right else -6):.1f}" y="{y + 4}" font-size="12" '
                     f'text-anchor="{"start" if right else "end"}">{_e(names[i])} ({ranks[i]:.2f})</text></g>')
    return (f'<svg class="cd-diagram" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">' + "".join(parts) + "</svg>")


def _table(headers: list[str], rows: list[list[str]], cls: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def html_report(analysis: dict[str, Any], environments: dict[str, dict[str, Any]]) -> str:
    """The report of one analysis (:func:`mezan.bench.analysis.analyze`) as a self-contained HTML page."""
    solvers = list(analysis["solvers"])
    f = analysis["friedman"]
    sections = [f"<h1>OptiBench: {_e(analysis['name'])}</h1>",
                f"<p class=\"summary\">{analysis['runs']} runs: {len(solvers)} solvers on {analysis['instances']} "
                f"instances, {analysis['budget']:g} s each; gaps to the best-known value "
                f"({analysis['references']['best known']} instances) or to the best any run found "
                f"({analysis['references']['best found']}); target: gap &le; {_pct(analysis['target_gap'])}.</p>"]
    rows = [[s, str(v["runs"]), _pct(v["mean_gap"]), _interval(v["mean_gap_ci"]), _pct(v["median_gap"]),
             f"{100 * v['success_rate']:.1f}%",
             "–" if v["time_to_target_median"] is None else f"{v['time_to_target_median']:.3g} s", str(v["failed"])]
            for s, v in analysis["solvers"].items()]
    sections.append("<h2>Solvers</h2>" + _table(
        ["solver", "runs", "mean gap", f"{100 * analysis['confidence']:.0f}% CI (bootstrap)", "median gap",
         "reached target", "median time to target", "failed"], rows, "solvers"))
    sections.append("<h2>Critical-difference diagram</h2>")
    if f.get("critical_difference") is not None and len(solvers) >= 2:
        sections.append(cd_diagram(solvers, f["average_ranks"], f["critical_difference"]))
    sections.append(f'<p class="verdict friedman">Friedman: {_e(f["verdict"])}'
                    + ("" if f.get("statistic") is None else
                       f" (&chi;&sup2; = {f['statistic']:.3f}, p = {f['p_value']:.3g}; Iman–Davenport F = "
                       f"{(f.get('iman_davenport') or float('nan')):.3f}; Nemenyi CD = {f['critical_difference']:.3f})")
                    + f"; {f.get('tied_instances', 0)} instances tied for every solver.</p>")
    pair_rows = [[p["a"], p["b"], "tie" if p["tie"] else f"{p['p_value']:.3g}",
                  "–" if p["tie"] else f"{p['p_holm']:.3g}", f"{p['a12']:.2f} ({p['a12_magnitude']})", p["verdict"]]
                 for p in analysis["pairwise"]]
    if pair_rows:
        sections.append("<h2>Pairwise tests</h2>" + _table(
            ["A", "B", "Wilcoxon p", "Holm p", "A12 (A better)", "verdict"], pair_rows, "pairwise"))
    profile = analysis["profile"]
    chart = _Chart("profile", (1.0, max(profile["tau"])), (0.0, 1.0), log_x=True,
                   x_label="tau (within a factor of the best time to target)", y_label="fraction of problems")
    for i, s in enumerate(solvers):
        chart.line(profile["tau"], profile["rho"][s], COLORS[i % len(COLORS)], s, step=True)
    sections.append("<h2>Performance profiles (Dolan–Moré, time to target)</h2>" + chart.svg(solvers))
    ecdf = analysis["time_to_target_ecdf"]
    chart = _Chart("ecdf", (min(ecdf["time"]), max(ecdf["time"])), (0.0, 1.0), log_x=True, x_label="seconds",
                   y_label="runs at target")
    for i, s in enumerate(solvers):
        chart.line(ecdf["time"], ecdf["fraction"][s], COLORS[i % len(COLORS)], s, step=True)
    sections.append("<h2>Time to target (empirical distribution)</h2>" + chart.svg(solvers))
    curves = analysis["anytime"]
    top = max([v for s in solvers for v in curves[s]["q3"] if v is not None] or [1e-9])
    chart = _Chart("anytime", (min(curves["time"]), max(curves["time"])), (0.0, top * 1.05), log_x=True,
                   x_label="seconds", y_label="gap (median, quartiles)")
    for i, s in enumerate(solvers):
        chart.band(curves["time"], curves[s]["q1"], curves[s]["q3"], COLORS[i % len(COLORS)])
        chart.line(curves["time"], curves[s]["median"], COLORS[i % len(COLORS)], s)
    sections.append("<h2>Anytime curves</h2>" + chart.svg(solvers))
    family_rows = [[family, str(v["instances"]), *[_pct(v["mean_gap"][s]) for s in solvers]]
                   for family, v in analysis["families"].items()]
    sections.append("<h2>Families (mean gap)</h2>" + _table(["family", "instances", *solvers], family_rows,
                                                             "families"))
    env_rows = [[env_id, *(str(env.get(k)) for k in ("python", "platform", "cpu", "cores", "mezan", "compiler",
                                                      "build_flags", "git"))]
                for env_id, env in environments.items()]
    sections.append("<h2>Environment</h2>" + _table(
        ["id", "python", "platform", "cpu", "cores", "mezan", "compiler", "flags", "git"], env_rows, "environment"))
    style = ("body{font-family:system-ui,sans-serif;margin:24px;max-width:980px;color:#1f2328}"
             "table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #d0d7de;padding:4px 8px;"
             "font-size:13px;text-align:left}th{background:#f6f8fa}svg{display:block;margin:8px 0 16px}"
             ".verdict{font-weight:600}")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>OptiBench "
            f"{_e(analysis['name'])}</title><style>{style}</style></head><body>" + "".join(sections)
            + "</body></html>")


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
                   "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}"}


def _latex(text: str) -> str:
    """Text as LaTeX prints it literally (a solver's name never becomes a command such as ``\\input``)."""
    return "".join(_LATEX_SPECIALS.get(c, c) for c in text)


def latex_table(analysis: dict[str, Any]) -> str:
    """The main table for a paper: per solver, mean gap with its interval, median gap, success rate, average rank."""
    ranks = dict(zip(analysis["solvers"], analysis["friedman"].get("average_ranks") or [], strict=False))

    def pct(value: float | None) -> str:
        return "--" if value is None or not math.isfinite(value) else f"{100 * value:.3f}"

    lines = [r"\begin{tabular}{lrrrrr}", r"\toprule",
             r"Solver & Mean gap (\%) & 95\% CI & Median gap (\%) & Success (\%) & Avg. rank \\", r"\midrule"]
    for s, v in analysis["solvers"].items():
        low, high = v["mean_gap_ci"]
        name = _latex(s)
        rank = f"{ranks[s]:.2f}" if s in ranks else "--"
        lines.append(f"{name} & {pct(v['mean_gap'])} & [{pct(low)}, {pct(high)}] & {pct(v['median_gap'])} & "
                     f"{100 * v['success_rate']:.1f} & {rank} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def check_report_paths(out: str | Path, latex: str | Path | None = None, *, force: bool = False,
                       store: str | Path | None = None) -> None:
    """Refuse, before any work, report paths that cannot be written.

    Parameters
    ----------
    out : str or pathlib.Path
        The HTML file (``--out``).
    latex : str or pathlib.Path, optional
        The LaTeX table's file (``--latex``).
    force : bool
        Whether existing files may be replaced.
    store : str or pathlib.Path, optional
        The store in use (the default store is protected in any case).

    Raises
    ------
    InvalidParameterError
        Any refusal of :func:`mezan.outputs.check_output` (the store, an existing file without ``force``, a folder,
        a missing or read-only folder), or ``latex`` is the same file as ``out``.
    """
    target = check_output(out, option="--out", force=force, store=store)
    if latex is not None and check_output(latex, option="--latex", force=force, store=store) == target:
        raise InvalidParameterError(f"--latex: {latex} is the same file as --out; give another path")


def write_report(analysis: dict[str, Any], environments: dict[str, dict[str, Any]], out: str | Path, *,
                 latex: str | Path | None = None, force: bool = False, store: str | Path | None = None) -> list[Path]:
    """Write the HTML report and, when asked, the LaTeX table; both checked first, then written atomically.

    Parameters
    ----------
    analysis : dict
        An analysis (:func:`mezan.bench.analysis.analyze`).
    environments : dict
        The environments its runs ran in, by id.
    out : str or pathlib.Path
        The HTML file.
    latex : str or pathlib.Path, optional
        The LaTeX table's file.
    force : bool
        Whether existing files may be replaced (the store never is).
    store : str or pathlib.Path, optional
        The store in use (the default store is protected in any case).

    Returns
    -------
    list of pathlib.Path
        The files written: ``out``, then ``latex`` when given.

    Raises
    ------
    InvalidParameterError
        A path refused by :func:`check_report_paths`, or a write that failed (the old file, if any, is kept).
    """
    check_report_paths(out, latex, force=force, store=store)
    paths = [Path(out)]
    write_atomic(out, html_report(analysis, environments), option="--out", force=force, store=store)
    if latex is not None:
        paths.append(Path(latex))
        write_atomic(latex, latex_table(analysis), option="--latex", force=force, store=store)
    return paths


__all__ = ["cd_diagram", "check_report_paths", "html_report", "latex_table", "write_report"]
