"""Sphinx configuration of MEZAN's documentation site (``make docs``: warnings are errors).

The API reference is generated at build time from ``public_api.PUBLIC``, the one list of public names that the
docstring checks read too: one page per public module listing its functions and classes (autosummary, numpydoc),
and one page per function or class.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import public_api  # noqa: E402

import mezan  # noqa: E402  (the installed package: the docs describe what users import)

project = "MEZAN"
author = "the MEZAN developers"
copyright = "2026, the MEZAN developers"
release = mezan.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "public_api.py"]
templates_path = ["_templates"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters section carries the types
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
intersphinx_mapping = {}  # offline builds: no inventory is fetched
suppress_warnings = ["myst.xref_missing"]
nitpicky = False

html_theme = "pydata_sphinx_theme"
html_title = f"MEZAN {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 4,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path: list[str] = []


def write_api_pages(app, config) -> None:  # noqa: ARG001  (Sphinx passes them)
    """docs/api/<module>.rst for every public module (autosummary then writes a page per function and class)."""
    folder = HERE / "api"
    folder.mkdir(exist_ok=True)
    toc = []
    for module in public_api.PUBLIC:
        objs = [(name, obj) for m, name, obj in public_api.objects() if m == module]
        documented = [name for name, obj in objs if inspect.isfunction(obj) or inspect.isclass(obj)
                      or inspect.isbuiltin(obj)]
        constants = [name for name, obj in objs if name not in documented and not inspect.ismodule(obj)]
        lines = [f"``{module}``", "=" * (len(module) + 4), "", f".. automodule:: {module}", "   :no-members:", ""]
        if documented:
            lines += [".. currentmodule:: " + module, "", ".. autosummary::", "   :toctree: generated", "",
                      *[f"   {name}" for name in documented], ""]
        if constants:
            lines += ["Constants: " + ", ".join(f"``{name}``" for name in constants) + ".", ""]
        text = "\n".join(lines)
        page = folder / f"{module}.rst"
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
        toc.append(f"   {module}")
    index = "\n".join(["API reference", "=============", "",
                       "Every public module, function and class, from the docstrings. The list of public names is "
                       "``docs/public_api.py``.", "", ".. toctree::", "   :maxdepth: 1", "", *toc, ""])
    (folder / "index.rst").write_text(index)


def setup(app):
    app.connect("config-inited", write_api_pages)  # before autosummary reads the pages
