"""A Sphinx extension that mends two console errors every page of a jupyter-book v1 site had.

jupyter-book 1.0.4 requires Sphinx 7, whose HTML builder adds an inline script registered after the
builder started twice, once as `None` and once as `''` (fixed upstream in Sphinx 8.2 by
sphinx-doc/sphinx#13402): sphinx-thebe's `const THEBE_JS_URL` then raised "Identifier
'THEBE_JS_URL' has already been declared" in the browser. pydata-sphinx-theme 0.17, whose layout sphinx-book-theme uses
without setting its `default_mode`, logged "Got invalid theme mode: . Resetting to auto." on a reader's first visit.
`_config.yml` loads it (`sphinx.extra_extensions`); `labkit.sitecheck` finds both if they return.
"""

from __future__ import annotations


def setup(app):
    """Registers the two mends with Sphinx.

    Args:
        app: the Sphinx application.

    Returns:
        The extension's metadata: safe for parallel reading and writing.
    """
    add_js_file = app.add_js_file

    def add_js_file_once(filename, priority=500, loading_method=None, **kwargs):
        # '' is what the builder turns None into when it re-adds the registry's scripts: one entry, not two
        return add_js_file("" if filename is None else filename, priority, loading_method, **kwargs)

    app.add_js_file = add_js_file_once
    app.connect("html-page-context", _default_mode)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _default_mode(app, pagename, templatename, context, doctree) -> None:
    # the theme's layout reads `default_mode` from the page's context; sphinx-book-theme never sets it
    if not context.get("default_mode"):
        context["default_mode"] = "auto"
