"""OptiBench: a reproducible benchmark registry, experiments, statistics that decide, sequential A/B tests, reports.

For example::

    from mezan.bench import Plan, Registry, run_experiment, load, analyze
    plan = Plan(["qaplib:nug12,tai12a"], ["rots", "anneal"], seeds=5, time_limit=0.5)
    experiment = run_experiment(plan)                       # into the store; run again to resume
    result = analyze(load(Registry(), experiment.id))       # Friedman/Nemenyi, Wilcoxon-Holm, A12, profiles

Modules: :mod:`~mezan.bench.instances` (what ``--instances`` names), :mod:`~mezan.bench.registry` (the tables),
:mod:`~mezan.bench.experiments` (run, reproduce, export), :mod:`~mezan.bench.analysis` (statistics),
:mod:`~mezan.bench.sequential` (the group-sequential design), :mod:`~mezan.bench.ab` (the A/B test),
:mod:`~mezan.bench.report` (HTML and LaTeX), :mod:`~mezan.cli.bench` (``mezan bench ...``).
"""

from mezan.extras import require

require("mezan.bench (OptiBench)", "bench")  # before the imports that need them

from mezan.bench.ab import ab_test
from mezan.bench.analysis import analyze, load
from mezan.bench.experiments import Plan, export, reproduce, run_experiment
from mezan.bench.registry import Registry, environment
from mezan.bench.report import write_report

__all__ = ["Plan", "Registry", "ab_test", "analyze", "environment", "export", "load", "reproduce", "run_experiment",
           "write_report"]
