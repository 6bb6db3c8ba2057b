"""Page furniture for the book, as a local Sphinx extension (listed in _config.yml):

- each chapter's download menu offers the chapter's executed notebook (with its glued numbers and figures put
  back, `selectivity_lib.book.export_notebooks`), beside the page's MyST source;
- the executed notebooks are written into the site (notebooks/<chapter>.ipynb) when the build finishes;
- sphinx-thebe's configuration script is added once per page, not twice (a second copy redeclares
  THEBE_JS_URL, a console error on every page). The book has no live-code button, so nothing else changes.
"""

from pathlib import Path

NOTEBOOKS = "notebooks"  # folder of the site that holds the downloadable executed chapters


def _executed(app) -> Path:
    return Path(app.outdir).parent / "jupyter_execute"


def offer_notebook(app, pagename, templatename, context, doctree):
    """Put '.ipynb' (this chapter's executed notebook) first in the download menu; drop print-to-PDF."""
    if not (_executed(app) / f"{pagename}.ipynb").is_file():
        return
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        kept = [b for b in group["buttons"] if b.get("label") == "download-source-button"]
        notebook = {
            "type": "link",
            "url": context["pathto"](f"{NOTEBOOKS}/{Path(pagename).name}.ipynb", 1),
            "text": ".ipynb",
            "icon": "fas fa-code",
            "tooltip": "Download the executed notebook (every number and figure on this page)",
            "label": "download-notebook-button",
        }
        group["buttons"] = [notebook, *kept]


def one_thebe_config(app, pagename, templatename, context, doctree):
    """Drop repeated inline scripts from the page's script list (sphinx-thebe's config script comes twice)."""
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        body = getattr(script, "attributes", {}).get("body")
        if body:
            if body in seen:
                continue
            seen.add(body)
        scripts.append(script)
    context["script_files"] = scripts


def export(app, exception):
    if exception is None and app.builder.format == "html":
        from selectivity_lib.book import export_notebooks

        export_notebooks(_executed(app) / "book", Path(app.outdir) / NOTEBOOKS)


def setup(app):
    app.connect("html-page-context", offer_notebook, priority=600)  # after the theme builds its buttons (501)
    app.connect("html-page-context", one_thebe_config, priority=600)
    app.connect("build-finished", export)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
