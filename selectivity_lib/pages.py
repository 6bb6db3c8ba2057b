"""The book's page plumbing: where the runs are, which sweep a chapter shows, glued numbers, figures
and tables on the page, and the executed notebooks offered for download.

The book reads one sweep folder, `runs/<profile>`: `$SELECTIVITY_BOOK_PROFILE` if set, else the first profile
of BOOK_PROFILES with complete runs of the networks a chapter needs (`full`, trained near convergence on
the whole training split, is the primary evidence; `cpu` runs remain for chapters whose networks have no
`full` runs yet, and every figure names its profile). New runs written there, by
`python -m selectivity_lib sweep` or by papermill on `notebooks/train_run.md`, show up in every figure at
the next build. Chapters never train.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .cca_experiment import CCA_FILE, load_cca
from .config import PROFILES
from .grid import planned_alphas
from .results import (
    Results,
    describe,
    find_run_folders,
    load_results,
    network,
)

REPO = Path(__file__).resolve().parents[1]


def runs_root() -> Path:
    return Path(os.environ.get("SELECTIVITY_RUNS", REPO / "runs"))


BOOK_PROFILES = ("full", "paper", "cpu", "smoke")  # in order of preference


# A profile is shown for a network once its complete runs of it cover this many alphas (enough for a curve
# against alpha), or every alpha the book's grid plans for the network where that is fewer (leaky ReLU at 4,
# VGG16 at 3). Until then a chapter shows the profile that has the most (its figures name the profile).
MIN_ALPHAS = 5


def alphas_needed(net: tuple[str, str]) -> int:
    """How many alphas of (model, activation) a profile needs before a chapter shows it (see MIN_ALPHAS)."""
    planned = planned_alphas().get(net)
    return min(MIN_ALPHAS, len(planned)) if planned else MIN_ALPHAS


def alpha_counts(folder: Path) -> dict[tuple[str, str], int]:
    """(model, activation) -> number of alphas with complete runs under `folder`."""
    from .errors import RunFolderError
    from .runfolder import is_complete, read_record

    alphas: dict[tuple[str, str], set] = {}
    for run in find_run_folders(folder):
        if is_complete(run):
            try:
                cfg = read_record(run)["config"]
                alphas.setdefault((cfg["model"], cfg["activation"]), set()).add(cfg["alpha"])
            except (RunFolderError, KeyError):  # load() lists damaged folders; here they just don't count
                continue
    return {net: len(a) for net, a in alphas.items()}


def cca_ratio_alphas(folder: Path) -> dict[tuple[str, str], int]:
    """(model, activation) -> number of alphas != 0 whose CCA tables under `folder` give a distance ratio: both
    within-alpha and cross pairs of networks with different seeds."""
    table = load_cca(folder)
    if table.empty:
        return {}
    table = table[(table.alpha != 0) & (table.seed_a != table.seed_b)]
    kinds = table.groupby(["model", "activation", "alpha"]).kind.nunique()
    return kinds[kinds == 2].groupby(level=["model", "activation"]).size().to_dict()


def book_profile(needs: tuple[tuple[str, str], ...] = (("resnet20", "relu"),), cca: bool = False) -> str:
    """The sweep a chapter shows: $SELECTIVITY_BOOK_PROFILE, else the first of BOOK_PROFILES whose complete runs
    include every (model, activation) in `needs` at `alphas_needed` or more alphas (and, with `cca`, whose CCA
    tables give each a ratio at one alpha fewer besides 0); failing that, of the profiles with runs of every
    network in `needs` (with `cca`, and some CCA table), the one whose scarcest network has the most alphas
    (the first on a tie); then the first with any network at MIN_ALPHAS alphas, then `cpu`."""
    if os.environ.get("SELECTIVITY_BOOK_PROFILE"):
        return os.environ["SELECTIVITY_BOOK_PROFILE"]
    root = runs_root()
    present = {name: alpha_counts(root / name) for name in BOOK_PROFILES if name in PROFILES and (root / name).is_dir()}
    has_cca = {name: not cca or any((root / name).rglob(CCA_FILE)) for name in present}
    for name, networks in present.items():
        ratios = cca_ratio_alphas(root / name) if cca and has_cca[name] else {}
        if all(
            networks.get(net, 0) >= alphas_needed(net) and (not cca or ratios.get(net, 0) >= alphas_needed(net) - 1)
            for net in needs
        ):
            return name
    partial = [name for name, networks in present.items() if has_cca[name] and all(net in networks for net in needs)]
    if partial:  # max keeps the first of equals, so BOOK_PROFILES' order breaks ties
        return max(partial, key=lambda name: min(present[name][net] for net in needs))
    return next((name for name, nets in present.items() if max(nets.values(), default=0) >= MIN_ALPHAS), "cpu")


@dataclass
class BookData:
    profile: str
    folder: Path
    results: Results
    cca: pd.DataFrame
    needs: tuple[tuple[str, str], ...] = (("resnet20", "relu"),)  # the networks the chapter loaded it for

    @property
    def runs(self) -> pd.DataFrame:
        return self.results.runs

    @property
    def read(self) -> pd.DataFrame:
        """The runs of the networks in `needs`: what the chapter reads, not every network the sweep holds."""
        runs = self.runs
        return pd.concat([network(runs, *net) for net in self.needs]) if not runs.empty else runs

    def describe(self) -> str:
        return describe(self.read)


def load(profile: str | None = None, units: bool = False, needs=(("resnet20", "relu"),), cca=False) -> BookData:
    """The sweep a chapter shows (see `book_profile`), as tables; a warning lists any folder skipped as
    incomplete or damaged."""
    profile = profile or book_profile(tuple(needs), cca)
    folder = runs_root() / profile
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = load_results(folder, units=units)
    for w in caught:
        print(f"note: {w.message}")
    return BookData(profile, folder, results, load_cca(folder), tuple(needs))


def glue(name: str, value, display: bool = False):
    """myst-nb's glue, so prose numbers come from computation (a plain print outside a book build).

    Like myst_nb.glue, plus the number of the cell that glued it (`scrapbook.cell`): myst-nb takes glued
    outputs out of the notebook it writes, and `downloadable_notebook` uses the number to put them back."""
    try:
        from IPython import get_ipython
        from IPython.core.formatters import format_display_data
        from IPython.display import display as ipy_display
        from myst_nb.ext.glue import GLUE_PREFIX
    except ImportError:  # pragma: no cover - the book extra is not installed
        print(f"{name} = {value}")
        return value
    shell = get_ipython()
    bundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    # The input history holds this cell's source by now, at the index its execution count will have (where
    # IPython's own counter has already moved on, in some versions).
    cell = len(shell.history_manager.input_hist_parsed) - 1 if shell is not None else None
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix, "cell": cell}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
    return value


def downloadable_notebook(executed: Path, out: Path) -> int:
    """Copy the executed chapter notebook `executed` (as myst-nb writes it under _build/jupyter_execute) to
    `out` with its glued outputs back in the cells that made them, so a reader who downloads it sees every
    number and figure the page shows. myst-nb keeps those outputs in `<chapter>.glue.json` beside the notebook
    instead. Returns how many outputs were put back."""
    import json

    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    glue_file = executed.with_suffix(".glue.json")
    glued = json.loads(glue_file.read_text()) if glue_file.exists() else {}
    cells = {c.execution_count: c for c in notebook.cells if c.cell_type == "code" and c.execution_count}
    placed = 0
    for name, output in glued.items():
        scrapbook = output.get("metadata", {}).get("scrapbook", {})
        if not scrapbook.get("mime_prefix"):  # glued with display=True: myst-nb left it in its cell
            continue
        cell = cells.get(scrapbook.get("cell"))
        if cell is None:
            raise ValueError(
                f"{executed}: glued output {name!r} names no executed cell; was it glued with "
                "selectivity_lib.book.glue? (myst_nb.glue does not record its cell)"
            )
        cell.outputs.append(nbformat.from_dict(output))
        placed += 1
    nbformat.write(notebook, out)
    return placed


def export_notebooks(executed: Path | str, out: Path | str) -> None:
    """Every chapter notebook under `executed` (_build/jupyter_execute/book), made downloadable into `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for notebook in sorted(Path(executed).glob("*.ipynb")):
        placed = downloadable_notebook(notebook, out / notebook.name)
        print(f"{out / notebook.name}: {placed} glued output(s) put back")


def table(frame: pd.DataFrame, digits: int | None = None, missing: str = "NaN", percent: dict | None = None):
    """A table for the page: columns named in `percent` (fractions: accuracies, their differences) shown in
    percent to two decimals under their new names ({"test_acc": "test acc. (%)"}), the rest rounded to
    `digits` decimals where given, missing values as `missing`, without pandas' row numbers (an index that
    names the rows stays), inside a box that scrolls sideways when the table is wider than the text column."""
    from IPython.display import HTML

    shown = frame.copy()
    shown = shown.round(digits) if digits is not None else shown
    for column in percent or {}:  # percent to two decimals (0.01 points), whatever `digits` the rest gets
        shown[column] = (100 * frame[column]).round(2)
    shown = shown.rename(columns=percent or {})
    html = shown.to_html(index=not isinstance(frame.index, pd.RangeIndex), na_rep=missing)
    return HTML(f'<div class="table-scroll" style="overflow-x: auto; max-width: 100%">{html}</div>')


def show(fig) -> None:
    """Display a figure once (closing it, so the inline backend does not show it a second time)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    if isinstance(fig, plt.Figure):  # a NoData note is shown as text and needs no closing
        plt.close(fig)


def glue_figure(name: str, fig) -> bool:
    """Glue `fig` (a figure, or plots' note that it is not drawn yet) as `fig_<name>` for a `{glue:figure}`
    directive with a caption, and close it. Returns whether a figure was drawn."""
    import matplotlib.pyplot as plt

    glue(f"fig_{name}", fig, display=False)
    if isinstance(fig, plt.Figure):
        plt.close(fig)
        return True
    return False


def glue_figures(source, *names: str) -> None:
    """Glue the paper's figures `names` (keys of plots.FIGURES) as `fig_<name>`, drawn from `source` (a
    Results, or the CCA distances for Figure 3), for `{glue:figure}` directives with captions; and, as
    `drawn_<name>`, the caption's words on where the panel comes from ("from this book's runs", or that it is
    not drawn yet), so that no caption claims a panel the page does not show."""
    from . import plots

    for name in names:
        drawn = glue_figure(name, plots.FIGURES[name](source))
        glue(
            f"drawn_{name}",
            "from this book's runs" if drawn else "not drawn yet: the note above names the runs it needs",
        )


def glue_verdicts(data: BookData, *keys: str) -> str:
    """Glue, for each scorecard claim in `keys`, its claim (`v_<key>_claim`), verdict (`v_<key>`) and evidence
    (`v_<key>_evidence`), computed by the scorecard's rules from the runs the chapter shows (`data`), so a
    chapter can open with its verdicts. Returns them as text (for a plain run outside a book build)."""
    from .scorecard import CLAIMS, scorecard

    card = scorecard(data.runs, data.cca).set_index("key")
    claims = {c.key: c.claim for c in CLAIMS}
    lines = []
    for key in keys:
        name = "v_" + key.replace("-", "_")
        glue(f"{name}_claim", claims[key].rstrip("."))
        glue(name, card.verdict[key])
        glue(f"{name}_evidence", card.evidence[key])
        lines.append(f"{key}: {card.verdict[key]} ({card.evidence[key]})")
    return "\n".join(lines)


@dataclass
class RobustnessData:
    """The robustness chapter's tables for one sweep: every row (`robust`, `dims`), the ResNet20 ReLU runs'
    per-run summary (`summary`), and the example corruptions, if the analysis has been run there."""

    folder: Path
    robust: pd.DataFrame
    dims: pd.DataFrame
    summary: pd.DataFrame
    examples: dict | None

    def describe(self) -> str:
        if self.summary.empty:
            return f"no analysed networks under {self.folder.name}"
        return describe(self.summary)


def load_robustness_tables(folder: Path) -> RobustnessData:
    from .robustness import EXAMPLES_FILE, load_robustness, run_summary

    robust, dims = load_robustness(folder)
    if not robust.empty:
        robust, dims = network(robust), network(dims)
    examples = None
    if (folder / EXAMPLES_FILE).is_file():
        with np.load(folder / EXAMPLES_FILE) as z:
            examples = {k: z[k] for k in z.files}
    return RobustnessData(folder, robust, dims, run_summary(robust, dims), examples)


def glue_followup(summary: pd.DataFrame) -> pd.DataFrame:
    """Glue the follow-up's claims as scored on `summary` (`fv_<key>`, `fv_<key>_claim`, `fv_<key>_evidence`,
    `fv_<key>_rule`), and return the card."""
    from .scorecard import followup_scorecard

    card = followup_scorecard(summary)
    for row in card.itertuples():
        name = "fv_" + row.key.replace("-", "_")
        glue(name, row.verdict)
        glue(f"{name}_claim", row.claim.rstrip("."))
        glue(f"{name}_evidence", row.evidence)
        glue(f"{name}_rule", row.rule)
    return card


# The sweep each scorecard claim is scored on: the one its chapter shows (`load`'s arguments); claims not
# named here are scored on the primary sweep of plain-ReLU ResNet20.
SCORECARD_SOURCES = {
    "main": {},
    "leaky": {"needs": (("resnet20", "relu"), ("resnet20", "leaky_relu"))},
    "vgg": {"needs": (("resnet20", "relu"), ("vgg16", "relu"))},
    "cca": {"cca": True},
}
CLAIM_SOURCE = {"leaky": "leaky", "vgg": "vgg", "cca": "cca"}


def glue_scorecard(main: BookData | None = None) -> pd.DataFrame:
    """Score every claim of `scorecard.CLAIMS` on the sweep its chapter shows (SCORECARD_SOURCES), glue each
    row's verdict, evidence, runs, claim and rule (`sc_<key>_<field>`), the verdict counts (`sc_counts`) and
    the book's figures behind the claims; return the card (one row per claim, in CLAIMS' order), with the
    profile and seed count each claim was scored on. `main`: the primary sweep (`load()`) where the caller has
    it already, so it is not read twice."""
    from .results import seeds_per_alpha
    from .scorecard import CLAIMS, scorecard

    rows = []
    for name, arguments in SCORECARD_SOURCES.items():
        data = main if name == "main" and main is not None else load(**arguments)
        card = scorecard(data.runs, data.cca)
        card = card[card.key.map(lambda k: CLAIM_SOURCE.get(k, "main")) == name]
        profile = f"{data.profile}, {seeds_per_alpha(data.read)}" if not data.read.empty else "none"
        rows.append(card.assign(runs=f"{data.profile} ({data.describe()})", profile=profile))
        figures = sorted({c.book_figure for c in CLAIMS if CLAIM_SOURCE.get(c.key, "main") == name})
        glue_figures(data.cca if name == "cca" else data.results, *figures)
    card = pd.concat(rows).set_index("key").loc[[c.key for c in CLAIMS]]
    for key, row in card.iterrows():
        for field in ("verdict", "evidence", "runs", "claim", "rule"):
            glue(f"sc_{key.replace('-', '_')}_{field}", row[field])
    glue("sc_counts", ", ".join(f"{n} {v}" for v, n in card.verdict.value_counts().items()))
    return card
