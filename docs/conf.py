"""Sphinx configuration of the refimpl documentation.

Build: ``python -m pip install -e ".[docs]" && sphinx-build -W docs docs/_build/html``.

Choices, with their reasons:

* **myst-nb with jupytext** renders the tutorials. The tutorials stay what they are, jupytext
  percent-format scripts that run with ``python`` and in the tests; the build turns each into
  a notebook (``_ext/refimpl_docs.py``), executes it and shows code, printed output and
  figures. sphinx-gallery would need a second format (rST comment blocks) for the same text.
* **numpydoc** reads the docstrings; the equations in their ``.. math::`` blocks and in the
  Markdown pages (``$...$``, ``$$...$$``) are rendered by **MathJax from the package
  sphinx-mathjax-offline**, which copies MathJax into ``_static``: the site needs no network
  (a course lab may have none).
* **pydata-sphinx-theme**, the theme of NumPy, SciPy and pandas, which readers know; its
  external fonts and icons are not needed offline (it bundles what it uses).
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import refimpl  # noqa: E402

project = "refimpl"
author = "The refimpl authors"
copyright = "2026, The refimpl authors"
release = refimpl.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "numpydoc",
    "myst_nb",
    "refimpl_docs",
]

exclude_patterns = ["_build", "**/files/**", "derivations/README.md"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
# numpydoc lists a docstring's References as citations even when the text does not cite them.
suppress_warnings = ["mystnb.unknown_mime_type", "ref.citation"]

# --- autodoc and numpydoc
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc Parameters section carries the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set = set()

# --- MyST and notebook execution
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "force"
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_in_temp = True  # anything a tutorial saves goes to a scratch folder
nb_merge_streams = True
if os.environ.get("CI"):
    os.environ["REFIMPL_QUICK"] = "1"  # the kernels inherit it: small sizes in CI
# The kernel must draw inline; a headless MPLBACKEND=Agg (as CI sets) would hide the figures.
os.environ.pop("MPLBACKEND", None)

# --- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"refimpl {release}"
html_static_path: list = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False
