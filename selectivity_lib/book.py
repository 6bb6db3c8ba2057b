"""What the book's chapters share: where the runs are, which sweep a chapter shows, glued numbers.

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
from .grid import EVIDENCE_GRID, arch_label  # noqa: F401 (chapters label networks with arch_label)
from .results import (
    Results,
    describe,
    device_stretches,
    find_run_folders,
    load_histories,
    load_results,
    network,
    typical_minutes,
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
    planned = [len(spec.alphas) for spec in EVIDENCE_GRID if (spec.model, spec.activation) == net]
    return min([MIN_ALPHAS, *planned])


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


def mean_ci(runs: pd.DataFrame, value: str, alpha: float | None = None, scale: float = 1.0, digits: int = 3) -> str:
    """'0.229 (95% t-interval 0.221–0.237, n = 3)' for `value` over the runs at `alpha` (an interval cut at
    the value's possible range says so: '(95% t-interval 0.0–46.7, cut at 0, n = 3)'); below
    `stats.MIN_INTERVAL_N` runs, their values instead ('0.229 (n = 2: 0.221 and 0.237, no interval)'); or a
    note that none exist."""
    from .stats import INTERVAL, MIN_INTERVAL_N, t_interval, value_bounds

    sel = runs if (alpha is None or runs.empty) else runs[runs.alpha == alpha]
    if sel.empty:
        return "(no runs yet)"
    if len(sel) == 1:  # one run has no spread
        return f"{scale * sel[value].iloc[0]:.{digits}f} (n = 1, no interval)"
    if len(sel) < MIN_INTERVAL_N:
        values = " and ".join(f"{scale * v:.{digits}f}" for v in sel[value])
        return f"{scale * sel[value].mean():.{digits}f} (n = {len(sel)}: {values}, no interval)"
    bounds = value_bounds(value)
    lo, hi = t_interval(sel[value], bounds=bounds)
    mean = sel[value].mean()  # an end at a bound the mean is not on was cut there (the mean on it: no spread)
    ends = zip(bounds, (lo, hi), strict=True) if bounds else ()
    cut = [f"cut at {scale * b:g}" for b, end in ends if end == b != mean]
    # an interval whose ends round to one number reads as no spread: print more digits until they differ
    while digits < 6 and f"{scale * lo:.{digits}f}" == f"{scale * hi:.{digits}f}" and hi > lo:
        digits += 1
    return (
        f"{scale * mean:.{digits}f} ({INTERVAL} {scale * lo:.{digits}f}–{scale * hi:.{digits}f}, "
        + "".join(f"{c}, " for c in cut)
        + f"n = {len(sel)})"
    )


def numerics(run) -> str:
    """How a run computed, from one row of the runs table: 'bf16, channels-last, compiled' (a run that
    resumed under other settings: each, in order, e.g. 'compiled+eager')."""

    def label(value, yes: str, no: str) -> str:
        values = value.split("+") if isinstance(value, str) else [value]
        return "+".join(yes if v in (True, "True") else no for v in values)

    layout = label(run["channels_last"], "channels-last", "NCHW")
    return f"{run['amp']}, {layout}, {label(run['compiled'], 'compiled', 'eager')}"


def table(frame: pd.DataFrame, digits: int | None = None, missing: str = "NaN"):
    """A table for the page: rounded to `digits` decimals where given, missing values as `missing`, and
    without pandas' row numbers, which mean nothing to a reader (an index that names the rows stays)."""
    from IPython.display import HTML

    shown = frame.round(digits) if digits is not None else frame
    return HTML(shown.to_html(index=not isinstance(frame.index, pd.RangeIndex), na_rep=missing))


def show(fig) -> None:
    """Display a figure once (closing it, so the inline backend does not show it a second time)."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    if isinstance(fig, plt.Figure):  # a NoData note is shown as text and needs no closing
        plt.close(fig)


def real_unit(units: pd.DataFrame, model: str = "resnet20", quantile: float = 0.9):
    """A fairly selective live unit of the last layer of an unregularized plain-ReLU `model` (alpha = 0): the
    unit whose SI is nearest the `quantile` of that layer's. Returns its row of the units table, or None."""
    if units is None or units.empty:
        return None
    base = units[(units.model == model) & (units.activation == "relu") & (units.alpha == 0) & ~units.dead]
    if base.empty:
        return None
    last = base[base.layer_index == base.layer_index.max()]
    return last.iloc[(last.si - last.si.quantile(quantile)).abs().argmin()]


def compare(a: pd.DataFrame, b: pd.DataFrame, value: str, names: tuple[str, str], words=("higher", "lower")) -> str:
    """A sentence-part comparing the mean of `value` in two sets of runs, computed from them: 'higher in A than
    in B (Welch t-test p = 0.01, n = 3 and 3)', 'not distinguishable ...' when p >= 0.05, or why no test is
    possible. Nothing is asserted that the data do not show."""
    from scipy import stats as sps

    x, y = a[value].dropna(), b[value].dropna()
    if len(x) == 0 or len(y) == 0:
        return f"not comparable yet (runs: {len(x)} of {names[0]}, {len(y)} of {names[1]})"
    direction = words[0] if x.mean() > y.mean() else words[1]
    if len(x) < 2 or len(y) < 2:
        return f"{direction} in {names[0]} than in {names[1]} on average, untested (n = {len(x)} and {len(y)})"
    p = sps.ttest_ind(x, y, equal_var=False).pvalue
    if p >= 0.05:
        return (
            f"not distinguishable between {names[0]} and {names[1]} (Welch t-test p = {p:.2g}, "
            f"n = {len(x)} and {len(y)})"
        )
    return f"{direction} in {names[0]} than in {names[1]} (Welch t-test p = {p:.2g}, n = {len(x)} and {len(y)})"


def paired_runs(a: pd.DataFrame, b: pd.DataFrame, names: tuple[str, str]) -> str:
    """Runs of two recipes matched by alpha and seed (two `runs` tables of one network): for each run of `a`
    with a partner in `b`, both test accuracies and the gap in points; single runs, so no test."""
    if a.empty or b.empty:
        return "no pair yet"
    pairs = a.merge(b, on=["alpha", "seed"], suffixes=("_a", "_b")).sort_values(["alpha", "seed"])
    if pairs.empty:
        return "no pair yet: no run of one shares an alpha and seed with a run of the other"
    return "; ".join(
        f"alpha = {r.alpha:g}, seed {r.seed}: {100 * r.test_acc_a:.1f}% ({names[0]}) against {100 * r.test_acc_b:.1f}% "
        f"({names[1]}), {100 * (r.test_acc_a - r.test_acc_b):+.1f} points"
        for r in pairs.itertuples()
    )


def glue_figures(source, *names: str) -> None:
    """Glue the paper's figures `names` (keys of plots.FIGURES) as `fig_<name>`, drawn from `source` (a
    Results, or the CCA distances for Figure 3), for `{glue:figure}` directives with captions."""
    import matplotlib.pyplot as plt

    from . import plots

    for name in names:
        fig = plots.FIGURES[name](source)
        glue(f"fig_{name}", fig, display=False)
        if isinstance(fig, plt.Figure):
            plt.close(fig)


def loss_rises(history: pd.DataFrame, tolerance: float = 0.05) -> pd.DataFrame:
    """Per run of `history` (load_histories rows): the epochs whose mean training cross-entropy rose by more
    than `tolerance` over the epoch before, and the largest rise. One row per run folder; `run` names it by
    alpha and seed, led by its network (`arch_label`) where the runs hold more than one, or by its folder name
    where two runs of one network share an alpha and seed (a recipe study)."""
    if history.empty:
        return pd.DataFrame(columns=["path", "run", "alpha", "seed", "rises", "largest"])
    history = (
        history
        if "path" in history
        else history.assign(path=history.alpha.astype(str) + "/" + history.seed.astype(str))
    )
    networked = {"model", "activation", "slope"} <= set(history.columns)
    rows = []
    for path, h in history.groupby("path", sort=False):
        h = h.sort_values("epoch")
        step = h.train_ce.diff()
        net = arch_label(h.model.iloc[0], h.activation.iloc[0], h.slope.iloc[0]) if networked else ""
        rows.append(
            dict(
                path=path,
                network=net,
                alpha=h.alpha.iloc[0],
                seed=h.seed.iloc[0],
                rises=[int(e) for e in h.epoch[step > tolerance]],
                largest=float(step.max()),
            )
        )
    table = pd.DataFrame(rows)
    shared = table.duplicated(["network", "alpha", "seed"], keep=False)
    several = table.network.nunique() > 1
    names = zip(table.path, table.network, table.alpha, table.seed, shared, strict=True)
    table["run"] = [
        Path(p).name if dup else f"{n + ' ' if several else ''}alpha = {a:g}, seed {s}" for p, n, a, s, dup in names
    ]
    return table.drop(columns="network")


def rising_loss(history: pd.DataFrame, tolerance: float = 0.05) -> str:
    """`loss_rises` as one sentence-part: 'alpha = 1, seed 0: rises in epoch(s) 7 (by up to 0.25); ...'; a
    stable run 'falls or holds every epoch'."""
    table = loss_rises(history, tolerance)
    if table.empty:
        return "no runs yet"
    return "; ".join(
        f"{r.run}: "
        + (
            f"rises in epoch(s) {', '.join(map(str, r.rises))} (by up to {r.largest:.2f})"
            if r.rises
            else "falls or holds every epoch"
        )
        for r in table.itertuples()
    )


REFERENCE = "paper"  # the recipe study's reference runs: the paper's own recipe, not a candidate for `full`


def recipe_candidates(recipe: pd.DataFrame) -> pd.DataFrame:
    """The runs of a recipe study that compete for the `full` profile: all but the paper-recipe reference."""
    return recipe[recipe.profile != REFERENCE] if not recipe.empty else recipe


def reference_progress(skipped) -> str | None:
    """How far an unfinished reference run has trained, from the folders `load_results` skipped (its
    `Results.skipped`): epochs done of the planned and the best validation accuracy so far, or None where no
    reference run is under way."""
    from .errors import RunFolderError
    from .runfolder import HISTORY, read_record

    for folder, _ in skipped:
        folder = Path(folder)
        try:
            config = read_record(folder)["config"]
            best_val = pd.read_csv(folder / HISTORY)["val_acc"]
        except (OSError, ValueError, KeyError, RunFolderError):  # damaged, or no finished epoch yet
            continue
        if config["profile"] != REFERENCE or config["alpha"] != 0 or best_val.empty:
            continue
        return (
            f"{folder.name} is still training: {len(best_val)} of its {config['epochs']} epochs done, "
            f"{100 * best_val.max():.1f}% best validation accuracy so far; no test figure until "
            f"it finishes (resume it with bash scripts/recipe-study.sh {folder.name})"
        )
    return None


def reference_gap(
    recipe: pd.DataFrame,
    chosen: str | None,
    estimate: str | None = None,
    skipped=(),
    history: pd.DataFrame | None = None,
) -> str:
    """The recipe study's reference run (the paper's recipe, alpha = 0) against the chosen recipe's alpha = 0
    run (its `recipe` key): what each reached on the test set and the gap; where it has not finished, how far
    it has trained (from the study's `skipped` folders), or that it is not trained yet (with `estimate`, what it
    would cost, where given). Given the study's `history` (`load_histories` rows), the recorded time is told per
    device that trained it, with its epochs."""
    ref = recipe[(recipe.profile == REFERENCE) & (recipe.alpha == 0)] if not recipe.empty else recipe
    if ref.empty:
        cost = f", {estimate}" if estimate else ""
        return reference_progress(skipped) or f"not trained yet (bash scripts/recipe-study.sh paper-e200{cost})"
    r = ref.iloc[0]
    # recorded time: every epoch's wall time, on whichever machines and precisions ('bfloat16+fp32') trained it
    rows = history[history.path == r.path] if history is not None and not history.empty else None
    if rows is None or rows.empty or "device" not in rows:
        spent = f"{_duration(r.train_seconds)} of recorded training in {r.amp}"
    else:
        spent = f"in {r.amp}: " + "; ".join(
            f"epochs {first}-{last} on {device}, {_duration(seconds)}"
            for first, last, device, seconds in device_stretches(rows)
        )
    text = f"{Path(r.path).name} ({r.epochs} epochs, {spent}) reached {100 * r.test_acc:.1f}% test accuracy"
    mine = recipe[(recipe.recipe == chosen) & (recipe.alpha == 0)] if chosen is not None else ref.iloc[:0]
    if mine.empty:
        return text
    m = mine.iloc[0]
    gap = 100 * (r.test_acc - m.test_acc)
    return (
        f"{text}, {abs(gap):.1f} points {'more' if gap >= 0 else 'less'} than {Path(m.path).name} "
        f"({100 * m.test_acc:.1f}% in {m.epochs} epochs)"
    )


def _duration(seconds: float) -> str:
    """'3.6 hours', or '5.5 minutes' under two hours."""
    return f"{seconds / 3600:.1f} hours" if seconds >= 7200 else f"{seconds / 60:.1f} minutes"


def chance_runs(runs: pd.DataFrame, history: pd.DataFrame, margin: float = 0.02) -> list[tuple]:
    """(run, chance, first epoch at chance, last history row) for each run of a `runs` table (with its
    `load_histories` rows) whose training accuracy fell to chance (within `margin` of 1 / classes) and stayed
    there to the last epoch."""
    from .runfolder import read_record

    found = []
    for run in runs.sort_values(["alpha", "seed"]).itertuples():
        h = history[history.path == run.path].sort_values("epoch")
        if h.empty:
            continue
        chance = 1 / read_record(Path(run.path))["data"]["num_classes"]
        low = h.train_acc <= chance + margin
        if low.iloc[-1]:
            since = int(h.epoch[~low].max()) + 1 if (~low).any() else int(h.epoch.min())
            found.append((run, chance, since, h.iloc[-1]))
    return found


def at_chance(runs: pd.DataFrame, history: pd.DataFrame, margin: float = 0.02) -> str:
    """The runs (a `runs` table, with their `load_histories` rows) whose training accuracy fell to chance (within
    `margin` of 1 / classes) and stayed there to the last epoch: from which epoch, and which epoch their test
    figures come from (the best by validation). 'none' if no run did."""
    parts = [
        f"alpha = {run.alpha:g}, seed {run.seed}: training accuracy at chance ({100 * chance:.0f}%) from epoch "
        f"{since} to the last; its test figures come from epoch {run.best_epoch}, the best by validation"
        for run, chance, since, _ in chance_runs(runs, history, margin)
    ]
    return "; ".join(parts) or "none"


def convergence(runs: pd.DataFrame, history: pd.DataFrame) -> str:
    """How far each run (a `runs` table, with its `load_histories` rows) got towards convergence: its best
    validation accuracy and at which epoch, its last training accuracy, what validation accuracy gained over
    the last quarter of the epochs, and its minutes of training. 'none run yet' without runs."""
    parts = []
    for run in runs.sort_values(["model", "alpha", "seed"]).itertuples():
        h = history[history.path == run.path].sort_values("epoch")
        if h.empty:
            continue
        tail = max(1, len(h) // 4)
        gain = 100 * (h.val_acc.iloc[-1] - h.val_acc.iloc[-1 - tail]) if len(h) > tail else float("nan")
        parts.append(
            f"{arch_label(run.model, run.activation, run.slope)} alpha = {run.alpha:g}, seed {run.seed}: "
            f"best validation accuracy {100 * run.best_val_acc:.1f}% (epoch {run.best_epoch} of {len(h)}), "
            f"training accuracy {100 * h.train_acc.iloc[-1]:.1f}% in the last epoch, validation accuracy "
            f"{gain:+.1f} points over the last {tail} epochs, {run.train_seconds / 60:.0f} minutes "
            "of training"
        )
    return "; ".join(parts) or "none run yet"


def seed_noise(spread: pd.DataFrame) -> str:
    """A `plots.seed_spread` table in a sentence: how far apart ResNet20's seeds land at alpha = 0, and the
    network and alpha whose seeds lie furthest apart in test accuracy."""
    if spread.empty:
        return "no alpha has two seeds yet"
    widest = spread.loc[spread["test acc. SD"].idxmax()]
    parts = []
    zero = spread[(spread.alpha == 0) & (spread.network == "resnet20")]
    if not zero.empty:
        z = zero.iloc[0]
        parts.append(
            f"at alpha = 0 ResNet20's {z.seeds} seeds lie within "
            f"{z['test acc. highest (%)'] - z['test acc. lowest (%)']:.1f} points of test accuracy "
            f"(SD {z['test acc. SD']:.2f}) and {z['SI highest'] - z['SI lowest']:.3f} of SI"
        )
    parts.append(
        f"the seeds lie furthest apart for {widest.network} at alpha = {widest.alpha:g} "
        f"({widest['test acc. highest (%)'] - widest['test acc. lowest (%)']:.1f} points, "
        f"SD {widest['test acc. SD']:.1f})"
    )
    return "; ".join(parts)


def rate_check(
    vgg: pd.DataFrame,
    resnet: pd.DataFrame,
    history: pd.DataFrame | None = None,
    margin: float = 5.0,
    budget_minutes: float = 45.0,
) -> str:
    """Whether VGG16's alpha = 0 runs (a `runs` table) show its learning rate failing to converge in the
    profile's budget, judged against ResNet20's alpha = 0 runs of the same profile: it fails if VGG16's mean
    best validation accuracy falls more than `margin` points below ResNet20's. Also says whether each VGG16 run
    kept within `budget_minutes` of training: its epochs times its median epoch, given its `history` rows (other
    work slowing a few epochs does not move that), else its recorded minutes."""
    if vgg.empty or resnet.empty:
        return "not judged yet: it needs VGG16 and ResNet20 runs at alpha = 0"
    v, r = 100 * vgg.best_val_acc.mean(), 100 * resnet.best_val_acc.mean()
    gap = r - v
    typical = typical_minutes(vgg, history) if history is not None else np.full(len(vgg), np.nan)
    if np.isfinite(typical).all():
        minutes, kind = float(typical.max()), "epochs times median epoch"
    else:  # some run without its history: the recorded minutes, an upper bound
        minutes, kind = vgg.train_seconds.max() / 60, "as recorded"
    seeds = f"{len(vgg)} VGG16 run{'s' if len(vgg) != 1 else ''} against {len(resnet)} of ResNet20"
    time = (
        f"within the {budget_minutes:g}-minute budget (the longest run: {minutes:.0f} minutes, {kind})"
        if minutes <= budget_minutes
        else f"the longest run took {minutes:.0f} minutes ({kind}), over the {budget_minutes:g}-minute budget"
    )
    if gap > margin:
        return (
            f"VGG16's mean best validation accuracy, {v:.1f}%, is {gap:.1f} points below ResNet20's {r:.1f}% "
            f"({seeds}), more than the {margin:g} points the rule allows, so this rate may not converge in the "
            f"budget and a higher one deserves a try; {time}"
        )
    side = "below" if gap >= 0 else "above"
    return (
        f"VGG16's mean best validation accuracy, {v:.1f}%, is {abs(gap):.1f} points {side} ResNet20's {r:.1f}% "
        f"({seeds}), within the {margin:g} points the rule allows, so the profile keeps this rate; {time}"
    )


def against_zero(runs: pd.DataFrame) -> str:
    """One network's runs (a `runs` table) at each alpha != 0 against alpha = 0, from seed means: mean SI and
    the factor it moved by, test accuracy and the points it moved by, and the seeds behind each mean."""
    if runs.empty or not (runs.alpha == 0).any():
        return "no runs at alpha = 0 yet"
    m = runs.groupby("alpha").agg(si=("si_unit_mean", "mean"), acc=("test_acc", "mean"), n=("seed", "nunique"))
    zero = m.loc[0.0]
    parts = [
        f"alpha = 0: mean SI {zero.si:.3f}, test accuracy {100 * zero.acc:.1f}% ({int(zero.n)} "
        f"seed{'s' if zero.n != 1 else ''})"
    ]
    for alpha, row in m.drop(0.0).iterrows():
        lower = row.si <= zero.si
        factor = f"{zero.si / row.si:.1f} times lower" if lower else f"{row.si / zero.si:.1f} times higher"
        parts.append(
            f"alpha = {alpha:g}: mean SI {row.si:.3f} ({factor}), test accuracy {100 * row.acc:.1f}% "
            f"({100 * (row.acc - zero.acc):+.1f} points; {int(row.n)} seed{'s' if row.n != 1 else ''})"
        )
    return "; ".join(parts) if len(parts) > 1 else parts[0] + "; no other alpha yet"


def precision_course(runs: pd.DataFrame, units: pd.DataFrame | None = None) -> str:
    """How mean precision moves with alpha in one network's runs (a `runs` table), on each side of 0: its
    Spearman rho with mean SI over the alphas <= 0, where it peaks among the alphas >= 0 and where it ends,
    and (given the per-unit table) how much leaving dead units out changes it."""
    from scipy import stats as sps

    m = runs.groupby("alpha")[["si_unit_mean", "precision_unit_mean"]].mean()
    neg, pos = m[m.index <= 0], m[m.index >= 0]
    parts = []
    if len(neg) >= 3:
        rho = sps.spearmanr(neg.si_unit_mean, neg.precision_unit_mean).statistic
        parts.append(f"over the {len(neg)} alphas <= 0, mean precision and mean SI have Spearman rho {rho:.2f}")
    if len(pos) >= 2:
        peak, top = pos.precision_unit_mean.idxmax(), pos.index.max()
        course = (
            f"over the alphas >= 0, mean precision is highest at alpha = {peak:g} ({pos.precision_unit_mean[peak]:.3f})"
        )
        if peak < top:
            course += (
                f" and falls beyond it, to {pos.precision_unit_mean[top]:.3f} at alpha = {top:g}, while mean SI "
                f"goes from {pos.si_unit_mean[peak]:.3f} to {pos.si_unit_mean[top]:.3f}"
            )
        parts.append(course)
    if units is not None and not units.empty and units.dead.any():
        per_run = ["alpha", "seed"]
        alive = units[~units.dead].groupby(per_run).precision.mean().groupby("alpha").mean()
        every = units.groupby(per_run).precision.mean().groupby("alpha").mean()
        parts.append(f"leaving dead units out moves mean precision by at most {(alive - every).abs().max():.3f}")
    return "; ".join(parts) or "too few alphas yet"


def knob_order(history: pd.DataFrame, level: float = 0.9) -> str:
    """Whether the minibatch selectivity term orders one network's runs by alpha during training (their
    `load_histories` rows): per epoch, Spearman rho between alpha and the term's mean over seeds, at the first
    and last epoch, and the epochs where it falls below `level`."""
    from scipy import stats as sps

    means = history.groupby(["epoch", "alpha"]).train_mu_si.mean().unstack()
    if means.shape[1] < 3:
        return "too few alphas yet"
    rho = means.apply(lambda row: sps.spearmanr(row.index, row.to_numpy(), nan_policy="omit").statistic, axis=1)
    text = (
        f"over the {means.shape[1]} alphas, Spearman rho between alpha and the term is {rho.iloc[0]:.2f} "
        f"after epoch {rho.index[0]} and {rho.iloc[-1]:.2f} after epoch {rho.index[-1]}"
    )
    low = rho.index[rho < level]
    return text + (f"; it is below {level:g} from epoch {low[0]}" if len(low) else "")


def ranksum_reach(tests: pd.DataFrame, level: float = 0.05) -> str:
    """What a `stats.ranksum_by_magnitude` table can show at its seed counts: per |alpha|, the seeds of each
    sign and the smallest Bonferroni-corrected p its rank-sum test could give, and whether any could reach
    `level` (a star). Exact rank-sum tests of a few seeds cannot: 3 against 3 never give less than 0.1."""
    if tests.empty:
        return "no |alpha| has runs of both signs yet"
    from .stats import bonferroni

    tested = tests[tests.method != "none"]
    floors = pd.Series(bonferroni(tested.min_p), index=tested.index)  # the smallest p each test can give, corrected
    parts = [
        f"|alpha| = {row.magnitude:g}: {row.n_neg} against {row.n_pos} seeds, "
        + (
            "no test (one seed on a side)"
            if row.method == "none"
            else f"smallest corrected p {floors[row.Index]:.2g}"
            if row.method == "exact"
            else "normal approximation, no floor"
        )
        for row in tests.itertuples()
    ]
    reachable = (floors < level).any()
    verdict = (
        f"so a star (corrected p < {level:g}) is possible"
        if reachable
        else f"so no star (corrected p < {level:g}) can appear at these seed counts, whatever the accuracies"
    )
    return "; ".join(parts) + f"; {verdict}"


def recipe_ranking(recipe: pd.DataFrame, rises: pd.DataFrame, chosen: str | None) -> str:
    """How a recipe study's alpha = 0 ranking (by best validation accuracy) leads to the chosen recipe (its
    `recipe` key): its rank, and for each recipe ranked above it, its validation accuracy, epochs and what its
    runs at alpha != 0 (`loss_rises` rows) showed. Computed, so the chapter states only what the runs say."""
    recipe = recipe_candidates(recipe)
    at_zero = recipe[recipe.alpha == 0].sort_values("best_val_acc", ascending=False).reset_index(drop=True)
    if chosen is None or chosen not in set(at_zero.recipe):
        return "a recipe that has no alpha = 0 run in the study"
    rank = int(at_zero.index[at_zero.recipe == chosen][0])
    top = at_zero.iloc[rank]
    parts = []
    for r in at_zero.iloc[:rank].itertuples():
        checks = rises[rises.path.isin(recipe.path[(recipe.recipe == r.recipe) & (recipe.alpha != 0)])]
        rose = [
            f"at alpha = {c.alpha:g} in epoch(s) {', '.join(map(str, c.rises))}" for c in checks.itertuples() if c.rises
        ]
        if rose:
            what = "its cross-entropy rose " + " and ".join(rose)
        elif len(checks):
            what = f"no rise at alpha = {', '.join(f'{a:g}' for a in checks.alpha)}"
        else:
            what = f"not checked at alpha != 0; {r.epochs} epochs against {top.epochs}"
        parts.append(f"{Path(r.path).name} ({100 * (r.best_val_acc - top.best_val_acc):+.1f} points; {what})")
    ranked = f"{Path(top.path).name}, ranked {rank + 1} of {len(at_zero)} by validation accuracy"
    return ranked + (": above it, " + "; ".join(parts) if parts else "")


def training_length_note(runs: pd.DataFrame, reference: Path, last: int = 3) -> str:
    """How far the shown runs (one network's `runs` table) are from converged, in numbers: the rise of the
    strongest penalty's validation accuracy over its last `last` epochs, and alpha = 0's test accuracy against
    the 200-epoch reference run at `reference` (the paper's recipe) where that run is complete."""
    if runs.empty or not (runs.alpha < 0).any():
        return "no penalized runs to judge it by yet"
    strongest = runs[runs.alpha == runs.alpha.min()]
    curves = [h.sort_values("epoch").val_acc.to_numpy() for _, h in load_histories(strongest).groupby("path")]
    rise = 100 * np.mean([v[-1] - v[-1 - last] for v in curves if len(v) > last] or [np.nan])
    epochs = int(strongest.epochs.iloc[0])
    parts = [
        f"at alpha = {strongest.alpha.iloc[0]:g} the validation accuracy still rose {rise:.1f} points over the last "
        f"{last} of its {epochs} epochs (mean of {strongest.seed.nunique()} seeds)"
    ]
    base = runs[runs.alpha == 0]
    if (reference / "metrics.json").is_file() and not base.empty:
        ref = load_results(reference).runs
        if not ref.empty:
            gap = 100 * (ref.test_acc.iloc[0] - base.test_acc.mean())
            parts.append(
                f"and at alpha = 0 these {epochs}-epoch runs reach {100 * base.test_acc.mean():.1f}% against "
                f"{100 * ref.test_acc.iloc[0]:.1f}% for the {int(ref.epochs.iloc[0])}-epoch run with the paper's "
                f"recipe ({gap:.1f} points)"
            )
    return ", ".join(parts)


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


def paper_recipe_costs(paper: Path | None = None, reference: Path | None = None) -> str:
    """The paper-recipe (200-epoch) ResNet20 runs against the 200-epoch alpha = 0 reference run, in numbers:
    each one's cut of mean SI and its accuracy cost (single runs, so no test), and which of the planned
    alphas (-30, -10, 2) are not complete yet."""
    paper = paper or runs_root() / "paper"
    reference = reference or runs_root() / "recipe" / "paper-e200"
    runs = network(load_results(paper).runs) if paper.is_dir() else pd.DataFrame()
    ref = load_results(reference).runs if (reference / "metrics.json").is_file() else pd.DataFrame()
    if ref.empty:
        return "the 200-epoch alpha = 0 reference run is not complete, so no paper-recipe cost can be computed"
    acc0, si0 = 100 * ref.test_acc.iloc[0], ref.si_unit_mean.iloc[0]
    parts = [
        f"alpha = {r.alpha:g} {'cuts' if r.si_unit_mean < si0 else 'raises'} mean SI "
        f"{max(si0 / r.si_unit_mean, r.si_unit_mean / si0):.0f}-fold ({r.si_unit_mean:.4f} against {si0:.3f}) and "
        f"reaches {100 * r.test_acc:.1f}% against {acc0:.1f}% at alpha = 0, {acc0 - 100 * r.test_acc:.1f} points "
        f"{'lower' if 100 * r.test_acc < acc0 else 'higher'} (seed {r.seed}, best epoch {r.best_epoch})"
        for r in (runs.sort_values("alpha").itertuples() if not runs.empty else [])
    ]
    pending = [a for a in (-30.0, -10.0, 2.0) if runs.empty or a not in set(runs.alpha)]
    text = "; ".join(parts) if parts else "no paper-recipe run at alpha != 0 is complete yet"
    if pending:
        text += f" (still to train: alpha = {', '.join(f'{a:g}' for a in pending)})"
    return text
