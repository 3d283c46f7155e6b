"""The OptiBench report: a self-contained HTML file rendered by headless Chromium (Debian's ``chromium``, installed
by ``make test``) — the DOM holds the critical-difference diagram, the profiles and the tables; the screenshot shows
the CD bar and the profile lines — and the LaTeX table."""

import re
import subprocess

import numpy as np
import pytest
from test_service_page import chromium

from mezan.bench.analysis import analyze, load
from mezan.bench.experiments import Plan, run_experiment
from mezan.bench.registry import Registry
from mezan.bench.report import cd_diagram, html_report, latex_table, write_report
from mezan.cli import main
from mezan.errors import InvalidParameterError
from mezan.store import Store

CD_RED = (0xD1, 0x24, 0x2F)
BLUE = (0x1F, 0x6F, 0xEB)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    registry = Registry(Store(tmp_path_factory.mktemp("report") / "bench.db"))
    plan = Plan(["generated:taillard_a,grid_manhattan:16:0-3"], ["rots", "anneal", "local_first"], seeds=1,
                time_limit=30.0, max_iter=400)
    return registry, run_experiment(plan, registry=registry, name="report-test")


def test_the_cd_diagram_joins_solvers_within_the_critical_difference():
    svg = cd_diagram(["a", "b", "c", "d"], [1.0, 1.5, 3.2, 3.9], 1.0)
    assert svg.count('class="solver"') == 4 and svg.count('class="clique"') == 2  # {a, b} and {c, d}
    assert "CD = 1.00" in svg
    assert cd_diagram(["a", "b"], [1.2, 1.8], 2.0).count('class="clique"') == 1


def test_report_html_and_latex(experiment, tmp_path):
    registry, exp = experiment
    result = analyze(load(registry, exp.id))
    envs = {e: registry.environment(e) for e in result["environments"]}
    page = html_report(result, envs)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # self-contained: no script, no external resource
    assert page.count('<svg class="') == 4  # CD diagram, profile, ECDF, anytime curves
    assert page.count('class="series" data-solver=') >= 9
    assert "Friedman" in page and envs[result["environments"][0]]["cpu"] in page
    table = latex_table(result)
    assert table.startswith(r"\begin{tabular}") and table.count(r"\\") == 4 and "qap.rots" in table
    paths = write_report(result, envs, tmp_path / "r.html", latex=tmp_path / "r.tex")
    assert [p.exists() for p in paths] == [True, True]


def test_report_outputs_are_checked_before_the_analysis_and_written_atomically(experiment, tmp_path, capsys):
    registry, exp = experiment
    store = registry.store.path
    result = analyze(load(registry, exp.id))
    folder = tmp_path / "report"
    folder.mkdir()
    out, tex = folder / "r.html", folder / "r.tex"
    for kwargs, message in (({"out": store}, "--out: cannot write .*never overwritten"),
                            ({"out": out, "latex": f"{store}-wal"}, "--latex: cannot write .*never overwritten"),
                            ({"out": out, "latex": out}, "--latex: .* is the same file as --out"),
                            ({"out": folder / "no" / "r.html"}, "--out: cannot write .*does not exist")):
        with pytest.raises(InvalidParameterError, match=message):
            write_report(result, {}, force=True, store=store, **kwargs)
    assert not out.exists() and store.read_bytes()[:6] == b"SQLite"
    out.write_text("mine")
    argv = ["bench", "report", exp.name, "--out", str(out), "--latex", str(tex), "--store", str(store)]
    assert main(argv) == 2 and out.read_text() == "mine" and not tex.exists()  # nothing written, not even --latex
    assert "--out: cannot write" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0 and out.read_text().startswith("<!DOCTYPE html>") and tex.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["r.html", "r.tex"]  # no temporary file left


def test_the_latex_table_prints_solver_names_literally():
    result = {"solvers": {r"x_\input{/etc/passwd}&$^%#~": {"mean_gap": 0.0, "mean_gap_ci": [0.0, 0.0],
                                                            "median_gap": 0.0, "success_rate": 1.0}},
              "friedman": {}}
    row = latex_table(result).splitlines()[4]
    assert row.startswith(r"x\_\textbackslash{}input\{/etc/passwd\}\&\$\textasciicircum{}\%\#"
                          r"\textasciitilde{} & ")


@pytest.mark.slow
def test_report_renders_in_chromium_with_the_cd_diagram_and_a_profile(experiment, tmp_path):
    registry, exp = experiment
    out = tmp_path / "report.html"
    assert main(["bench", "report", exp.name, "--out", str(out), "--store", str(registry.store.path)]) == 0
    browser = chromium()
    url = out.as_uri()
    dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert '<svg class="cd-diagram"' in dom and dom.count('<g class="solver"') == 3
    assert re.search(r'<svg class="profile"[^>]*>.*?</svg>', dom, re.S).group(0).count('class="series"') == 3
    assert '<table class="pairwise">' in dom and '<table class="environment">' in dom
    shot = tmp_path / "report.png"
    subprocess.run([*browser, "--window-size=1000,2600", f"--screenshot={shot}", url], capture_output=True,
                   timeout=120, check=True)
    import matplotlib.image

    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).round().astype(int)

    def count(color):
        return int(np.all(np.abs(pixels - np.array(color)) <= 10, axis=-1).sum())

    assert count(CD_RED) > 100, "the CD bar is not on the screenshot"
    assert count(BLUE) > 200, "the first solver's lines (CD marker, profile) are not on the screenshot"


def test_the_service_page_links_the_experiments_to_their_reports(experiment):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from mezan.service import ServiceConfig, create_app
    from mezan.service.keys import KeyStore

    registry, exp = experiment
    app = create_app(ServiceConfig(workers=1), registry.store)
    try:
        client = TestClient(app)
        headers = {"Authorization": f"Bearer {KeyStore(registry.store).create('read')[0]}"}
        listed = client.get("/experiments", headers=headers).json()["experiments"]
        assert [e["name"] for e in listed] == ["report-test"] and listed[0]["runs"] == 24
        page = client.get("/", headers=headers).text
        assert f'<a href="/experiments/{exp.id}/report">report</a>' in page
        report = client.get(f"/experiments/{exp.id}/report", headers=headers)
        assert report.status_code == 200 and '<svg class="cd-diagram"' in report.text
        assert client.get("/experiments/exp-nope/report", headers=headers).status_code == 404
        assert client.get(f"/experiments/{exp.id}/report").status_code == 401  # no key, no report
    finally:
        app.state.queue.close()
