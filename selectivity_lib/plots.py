"""The paper's figures, one function each: tidy DataFrames in (from `results` and `analyse`), Figure out.

Colours follow the paper: blues for alpha < 0 (darker for larger |alpha|), reds for alpha > 0, grey for
alpha = 0; alpha axes run in signed order. Error bars are 95% t-intervals over seeds (`stats.t_interval`;
none where a point has fewer than `stats.MIN_INTERVAL_N` runs) and every seed is drawn as a small dot;
stars mark Bonferroni-corrected tests from `stats`. Every figure carries a footnote naming the profile,
dataset and seeds it was drawn from. A figure whose runs are not there returns a `NoData` note that says
which runs it needs.

    1a 1b   selectivity per layer / overall, alpha <= 0          fig1a, fig1b
    2a 2b 2c  accuracy vs alpha, violins, accuracy vs selectivity   fig2a, fig2b, fig2c
    3a 3b   CCA distance per layer / CCA distance ratio            fig3a, fig3b
    4a 4b 4c  as 2, alpha >= 0                                      fig4a, fig4b, fig4c
    5a 5b   promoting vs penalizing by |alpha|; accuracy vs SI     fig5a, fig5b
    A1      as 1, alpha >= 0                                       figA1a, figA1b
    A2-A6   VGG16 versions of 1, 2, A1, 4, A11 (model="vgg16")    FIGURES["A2a"], ...
    A7 A8   precision per layer / overall                          figA7a, figA7b, figA8a, figA8b
    A9      dead units; selectivity and accuracy without them      figA9a, figA9b, figA9c
    A10     leaky ReLU: accuracy vs alpha per slope; SI at b=0.5   figA10a, figA10b
    A11     promoting vs penalizing (rank-sum)                     figA11
    A12     ResNet20 vs VGG16                                      figA12a, figA12b
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scipy.stats as sps
import seaborn as sns

from .cca_stats import (  # noqa: F401 (cca_ratio_table, ratio_above_one: kept importable from here)
    cca_pair_ratios,
    cca_permutation_test,
    cca_ratio_table,
    ratio_above_one,
    replicate_pairs,
)
from .grid import arch_label
from .results import Results, describe, network, one_recipe, seeds_per_alpha, typical_minutes
from .stats import INTERVAL, MIN_INTERVAL_N, ranksum_by_magnitude, stars, summarize, ttest_vs_baseline

DPI = 160
# The book's text column is 784 px wide (sphinx-book-theme on a desktop window) and shows every figure at that
# width: a font of f points in a figure w inches wide (its tight bounding box) reads as f * 784 / (96 w) CSS
# points. SMALL is the size of the smallest text (ticks of many layers, legends, footnotes): 9 points as read
# in a figure up to about 8.3 inches wide.
BOOK_WIDTH_PX = 784
SMALL = 9.5

LABELS = {
    "si_unit_mean": "mean class selectivity",
    "si_mean": "mean class selectivity",
    "mu_si": "mu_SI (eq. 3)",
    "si_unit_mean_alive": "mean class selectivity (dead units removed)",
    "test_acc": "test accuracy (%)",
    "precision_unit_mean": "mean precision",
    "precision_mean": "mean precision",
    "dead_fraction": "proportion of dead units",
    "si_mean_alive": "mean class selectivity (dead removed)",
}


def alpha_colors(alphas) -> dict:
    """alpha -> colour: blues below 0 and reds above, darker with |alpha|'s rank; grey at 0."""
    alphas = sorted(set(float(a) for a in alphas))
    neg = sorted((a for a in alphas if a < 0), key=abs)
    pos = sorted(a for a in alphas if a > 0)
    colors = {0.0: "0.35"}
    for group, cmap in ((neg, plt.cm.Blues), (pos, plt.cm.Reds)):
        for i, a in enumerate(group):
            colors[a] = cmap(0.4 + 0.6 * (i + 1) / len(group))
    return colors


def _sign(df: pd.DataFrame, sign: str | None) -> pd.DataFrame:
    if sign == "neg":
        return df[df.alpha <= 0]
    if sign == "pos":
        return df[df.alpha >= 0]
    return df


def _select(df: pd.DataFrame, model: str | None = "resnet20", activation: str = "relu", sign: str | None = None):
    if df is None or df.empty:
        return pd.DataFrame()
    return _sign(one_recipe(network(df, model, activation)), sign)


def _figure(size=(6.0, 4.0)):
    sns.set_theme(style="ticks", context="notebook")
    fig, ax = plt.subplots(figsize=size, layout="constrained", dpi=DPI)
    return fig, ax


def _provenance(fig, text: str) -> None:
    """The figure's provenance line, wrapped, readable at normal zoom."""
    import textwrap

    fig.text(0.01, -0.01, textwrap.fill(text, 100), fontsize=SMALL, color="0.25", ha="left", va="top")


BARS = f"error bars: {INTERVAL} over seeds (drawn from {MIN_INTERVAL_N} seeds, cut at the possible range)"


def _footnote(fig, runs: pd.DataFrame, extra: str = "", bars: str = BARS, dots: str = "dots: single runs") -> None:
    _provenance(fig, "; ".join(t for t in (describe(runs), extra, bars, dots) if t))


class NoData:
    """What a figure shows when its runs are not there: a sentence that names the runs it needs."""

    def __init__(self, what: str, needs: str):
        self.message = f"{what}: not drawn yet. It needs {needs}."

    def _repr_markdown_(self) -> str:
        return f"*{self.message}*"

    def __repr__(self) -> str:
        return self.message


def _empty(what: str, needs: str = "runs that match it"):
    return NoData(what, needs)


def _have(runs: pd.DataFrame) -> str:
    if runs.empty:
        return "none so far"
    return "so far alpha " + ", ".join(f"{a:g}" for a in sorted(runs.alpha.unique()))


def _alpha_axis(ax, alphas) -> list:
    order = sorted(float(a) for a in set(alphas))
    ax.set_xticks(range(len(order)), [f"{a:g}" for a in order])
    ax.set_xlabel("regularization scale alpha")
    return order


def _seed_dots(ax, x, values, color, spread: float = 0.09, size: float = 10) -> None:
    """Each run as a small dot centred on its group's x (spread sideways within +-`spread`, so that equal values
    stay visible and no dot drifts towards the next category), drawn under the group's mean."""
    values = np.asarray(values, dtype=float)
    offsets = np.linspace(-spread, spread, len(values)) if len(values) > 1 else np.zeros(1)
    x = np.asarray(x, dtype=float) + offsets
    ax.scatter(x, values, s=size, color=color, alpha=0.55, lw=0, zorder=2)


def _dodges(count: int, width: float = 0.6) -> np.ndarray:
    """x offsets that place `count` series side by side within one category (centred, `width` wide in all)."""
    if count < 2:
        return np.zeros(max(count, 1))
    return np.linspace(-width / 2, width / 2, count)


def _segments(positions) -> list[list[int]]:
    """Runs of consecutive category indices ([0, 1, 3, 4] -> [[0, 1], [3, 4]]): a line joins a series' means
    only within a run, so it never crosses a category where the series has no value."""
    runs: list[list[int]] = []
    for i in positions:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _series(
    ax, part: pd.DataFrame, key: str, value: str, order: list, color, scale: float = 1, dodge: float = 0.0, **style
) -> None:
    """One group of runs (`part`) as its mean per `key` value with t intervals, at x = the value's index in
    `order` (+ `dodge`, to set series side by side), every run as a dot around it, and a line through the means
    of neighbouring categories (broken where the group has no runs)."""
    s = summarize(part, key, value)
    positions = [order.index(k) for k in s[key]]
    spread = 0.09 if dodge == 0 else min(0.09, 0.35 * abs(dodge))
    for k, i in zip(s[key], positions, strict=True):
        _seed_dots(ax, i + dodge, scale * part.loc[part[key] == k, value].to_numpy(), color, spread)
    means = dict(zip(positions, scale * s["mean"], strict=True))
    line = style.pop("ls", "-")
    label = style.pop("label", None)
    ax.errorbar(
        np.add(positions, dodge),
        scale * s["mean"],
        yerr=[scale * (s["mean"] - s.ci_low), scale * (s.ci_high - s["mean"])],
        color=color,
        marker="o",
        mec="white",
        capsize=3,
        ls="none",
        zorder=3,
        label=label,
        **style,
    )
    if line != "none":
        for run in _segments(sorted(positions)):
            ax.plot(np.add(run, dodge), [means[i] for i in run], color=color, ls=line, lw=1.3, zorder=3)


def by_layer(layers: pd.DataFrame, value: str = "si_mean", title: str = "") -> plt.Figure:
    """Per-layer mean of `value` for each alpha, the alphas side by side within each layer (dodged), with t
    intervals over seeds and every run as a dot. layers: `Results.layers` rows."""
    if layers.empty or layers.alpha.nunique() < 2:
        return _empty(title or value, f"runs at two or more alphas of this network ({_have(layers)})")
    fig, ax = _figure((7.5, 4.2))
    colors = alpha_colors(layers.alpha)
    names = layers.drop_duplicates("layer_index").sort_values("layer_index").layer
    order = sorted(layers.layer_index.unique())
    alphas = sorted(layers.alpha.unique())
    for alpha, dodge in zip(alphas, _dodges(len(alphas), 0.7), strict=True):
        group = layers[layers.alpha == alpha]
        _series(ax, group, "layer_index", value, order, colors[alpha], dodge=dodge, ms=3, lw=1, label=f"{alpha:g}")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=SMALL)
    for edge in np.arange(len(names) - 1) + 0.5:  # faint separators: which dodged points share a layer
        ax.axvline(edge, color="0.92", lw=0.8, zorder=0)
    ax.set_xlim(-0.5, len(names) - 0.5)
    ax.set_xlabel("layer")
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(title="alpha", fontsize=SMALL, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(title, fontsize=10)
    _footnote(
        fig,
        layers.drop_duplicates(["model", "activation", "slope", "alpha", "seed"]),
        "within each layer the alphas stand side by side, most negative first",
    )
    sns.despine(fig)
    return fig


def star_key(thresholds) -> str:
    """'* p < 0.05, ** p < 0.005, *** p < 5e-06' for a figure's star thresholds."""
    return ", ".join(f"{'*' * (i + 1)} p < {t:g}" for i, t in enumerate(thresholds))


def t_reach(runs: pd.DataFrame, value: str, thresholds) -> str:
    """What the seed counts allow a t-test against alpha = 0 (Bonferroni over the other alphas): the |t| each
    star needs at the most common seed count, e.g. 'at 3 seeds a side (df 4), *** needs |t| > 62.4'. Unlike a
    rank test, a t-test has no floor; but few seeds make the strictest thresholds need an enormous t."""
    counts = runs.groupby("alpha")[value].count()
    if 0.0 not in counts.index or len(counts) < 2:
        return ""
    n, base = int(counts.drop(0.0).mode().iloc[0]), int(counts.loc[0.0])
    df, tests = n + base - 2, len(counts) - 1
    if df < 1:
        return ""
    needs = ", ".join(f"{'*' * (i + 1)} |t| > {sps.t.isf(t / (2 * tests), df):.3g}" for i, t in enumerate(thresholds))
    return f"at {n} seeds against {base} (df {df}, {tests} tests) the stars need {needs}"


def vs_alpha(
    runs: pd.DataFrame, value: str, title: str = "", test: bool = True, thresholds=(0.05, 5e-3, 5e-6)
) -> plt.Figure:
    """Mean of `value` per alpha with t intervals and every run as a dot; stars: t-test against alpha = 0,
    Bonferroni-corrected, at `thresholds` (the paper's for the figure), named in the footnote with the |t|
    they need at these seed counts."""
    if runs.empty or runs.alpha.nunique() < 2:
        return _empty(title or value, f"runs at two or more alphas of this network ({_have(runs)})")
    fig, ax = _figure()
    scale = 100 if value == "test_acc" else 1
    colors = alpha_colors(runs.alpha)
    order = _alpha_axis(ax, runs.alpha.unique())
    s = summarize(runs, "alpha", value).set_index("alpha")
    for i, a in enumerate(order):
        _seed_dots(ax, i, scale * runs.loc[runs.alpha == a, value].to_numpy(), colors[a])
        row = s.loc[a]
        ax.errorbar(
            i,
            scale * row["mean"],
            yerr=[[scale * (row["mean"] - row.ci_low)], [scale * (row.ci_high - row["mean"])]],
            color=colors[a],
            marker="o",
            mec="white",
            capsize=3,
            zorder=3,
        )
    tested = test and 0.0 in s.index
    if tested:
        tests = ttest_vs_baseline(runs, value).set_index("alpha")
        top = scale * max(s.ci_high.max(), runs[value].max())
        for i, a in enumerate(order):
            if a in tests.index:
                ax.text(i, top, stars(tests.loc[a, "p_bonferroni"], thresholds), ha="center", va="bottom")
    ax.set_ylabel(LABELS.get(value, value))
    ax.set_title(title, fontsize=10)
    note = ""
    if tested:
        note = f"stars: two-sample t-test vs alpha = 0, Bonferroni ({star_key(thresholds)}; the paper's thresholds)"
        reach = t_reach(runs, value, thresholds)
        note += f"; {reach}" if reach else ""
    _footnote(fig, runs, note)
    sns.despine(fig)
    return fig


VIOLIN_MIN_SEEDS = 5  # below this a density over seeds is mostly the kernel's shape: the runs are drawn instead


def violins(runs: pd.DataFrame, value: str = "test_acc", alphas=None, title: str = "") -> plt.Figure:
    """Distribution over seeds of `value` for a subset of alphas: a violin with the runs inside where every
    alpha has VIOLIN_MIN_SEEDS or more, else each run as a dot with the alpha's mean as a bar."""
    data = runs if alphas is None else runs[runs.alpha.isin(alphas)]
    if data.empty or data.groupby("alpha").size().max() < 3:
        return _empty(
            title or value, f"at least 3 seeds at an alpha of this network to show a distribution ({_have(data)})"
        )
    fig, ax = _figure()
    order = sorted(data.alpha.unique())
    colors = alpha_colors(data.alpha)
    scale = 100 if value == "test_acc" else 1
    plot = data.assign(y=scale * data[value], a=data.alpha.map(lambda a: f"{a:g}"))
    names = [f"{a:g}" for a in order]
    palette = {f"{a:g}": colors[a] for a in order}
    seeds = data.groupby("alpha").size()
    if seeds.min() >= VIOLIN_MIN_SEEDS:
        sns.violinplot(
            plot, x="a", y="y", hue="a", order=names, palette=palette, inner="point", cut=0, ax=ax, legend=False
        )
        shape = "violins: kernel density over seeds, cut at the extremes"
    else:
        sns.stripplot(
            plot, x="a", y="y", hue="a", order=names, palette=palette, size=5, jitter=0.08, ax=ax, legend=False
        )
        means = plot.groupby("a").y.mean()
        for i, name in enumerate(names):
            ax.plot([i - 0.25, i + 0.25], [means[name]] * 2, color=palette[name], lw=2)
        shape = f"bars: mean of the runs (violins from {VIOLIN_MIN_SEEDS} seeds at every alpha)"
    ax.set_xlabel("regularization scale alpha")
    ax.set_ylabel(LABELS.get(value, value))
    ax.set_title(title, fontsize=10)
    _footnote(fig, data, bars="", extra=shape)
    sns.despine(fig)
    return fig


def accuracy_vs_selectivity(runs: pd.DataFrame, si: str = "si_unit_mean", title: str = "") -> plt.Figure:
    """Test accuracy against mean selectivity, one point per alpha with CIs on both axes."""
    if runs.empty or runs.alpha.nunique() < 2:
        return _empty(title or "accuracy vs selectivity", f"runs at two or more alphas of this network ({_have(runs)})")
    fig, ax = _figure()
    colors = alpha_colors(runs.alpha)
    sx, sy = summarize(runs, "alpha", si).set_index("alpha"), summarize(runs, "alpha", "test_acc").set_index("alpha")
    ax.scatter(runs[si], 100 * runs.test_acc, s=9, c=[colors[a] for a in runs.alpha], alpha=0.6, lw=0)
    for a in sx.index:
        x, y = sx.loc[a], sy.loc[a]
        ax.errorbar(
            x["mean"],
            100 * y["mean"],
            xerr=[[x["mean"] - x.ci_low], [x.ci_high - x["mean"]]],
            yerr=[[100 * (y["mean"] - y.ci_low)], [100 * (y.ci_high - y["mean"])]],
            color=colors[a],
            marker="o",
            capsize=2,
            label=f"{a:g}",
        )
    ax.set_xlabel(LABELS.get(si, si))
    ax.set_ylabel(LABELS["test_acc"])
    ax.legend(title="alpha", fontsize=SMALL, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))  # off the data
    ax.set_title(title, fontsize=10)
    _footnote(fig, runs)
    sns.despine(fig)
    return fig


def promote_vs_penalize(
    runs: pd.DataFrame, value: str = "test_acc", title: str = "", thresholds=(0.05, 6e-6)
) -> plt.Figure:
    """`value` against |alpha| for alpha < 0 (blue) and alpha > 0 (red); stars: rank-sum, Bonferroni."""
    signed = runs[runs.alpha != 0]
    mags = set(signed.alpha[signed.alpha < 0].abs()) & set(signed.alpha[signed.alpha > 0])
    if not mags:
        return _empty(title or "promoting vs penalizing", f"runs at alpha = -a and +a for some a ({_have(runs)})")
    fig, ax = _figure()
    scale = 100 if value == "test_acc" else 1
    mags = sorted(signed.alpha.abs().unique())
    for sign, color, label, dodge in ((-1, "tab:blue", "alpha < 0", -0.15), (1, "tab:red", "alpha > 0", 0.15)):
        part = signed[np.sign(signed.alpha) == sign].assign(magnitude=lambda d: d.alpha.abs())
        if part.empty:
            continue
        _series(ax, part, "magnitude", value, mags, color, scale, dodge=dodge, label=label)
    tests = ranksum_by_magnitude(runs, value)
    top = scale * signed[value].max()
    for _, row in tests.iterrows():
        ax.text(mags.index(row.magnitude), top, stars(row.p_bonferroni, thresholds), ha="center", va="bottom")
    ax.set_xticks(range(len(mags)), [f"{m:g}" for m in mags])
    ax.set_xlabel("|alpha|")
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(frameon=False)
    ax.set_title(title, fontsize=10)
    note = (
        "stars: Wilcoxon rank-sum alpha<0 vs alpha>0 (exact to 8 seeds a side), Bonferroni "
        f"({star_key(thresholds)}; the paper's thresholds)"
    )
    floors = (tests.min_p * len(tests)).clip(upper=1) if not tests.empty else pd.Series(dtype=float)
    if not floors.empty and floors.notna().any():
        note += f"; the smallest p these seed counts allow after correction: {floors.min():.2g}"
    _footnote(fig, runs, note)
    sns.despine(fig)
    return fig


def compare_models(runs: pd.DataFrame, value: str, title: str = "") -> plt.Figure:
    """`value` against alpha for ResNet20 (cyan) and VGG16 (orange)."""
    if runs.empty or runs.model.nunique() < 2:
        so_far = ", ".join(sorted(runs.model.unique())) or "none"
        return _empty(title or value, f"runs of both ResNet20 and VGG16 (so far: {so_far})")
    fig, ax = _figure((7.5, 4.0))  # every alpha of both networks: room for 16 tick labels
    order = _alpha_axis(ax, runs.alpha.unique())
    scale = 100 if value == "test_acc" else 1
    for model, color, dodge in (("resnet20", "c", -0.15), ("vgg16", "tab:orange", 0.15)):
        part = runs[runs.model == model]
        if part.empty:
            continue
        _series(ax, part, "alpha", value, order, color, scale, dodge=dodge, label=model, ls="none")
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(frameon=False)
    ax.set_title(title, fontsize=10)
    _footnote(fig, runs)
    sns.despine(fig)
    return fig


def by_slope(runs: pd.DataFrame, value: str = "test_acc", title: str = "") -> plt.Figure:
    """`value` against alpha for each leaky-ReLU slope b (ReLU is b = 0), darker red for larger b."""
    if runs.empty or runs.slope.nunique() < 2:
        return _empty(title or value, "runs of ReLU and leaky-ReLU networks at the same alphas")
    fig, ax = _figure()
    order = _alpha_axis(ax, runs.alpha.unique())
    scale = 100 if value == "test_acc" else 1
    slopes = sorted(runs.slope.unique())
    for i, (b, dodge) in enumerate(zip(slopes, _dodges(len(slopes), 0.4), strict=True)):
        part = runs[runs.slope == b]
        color = plt.cm.Reds(0.35 + 0.65 * (i + 1) / len(slopes))
        _series(ax, part, "alpha", value, order, color, scale, dodge=dodge, label=f"b = {b:g}")
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(frameon=False, fontsize=SMALL)
    ax.set_title(title, fontsize=10)
    _footnote(fig, runs)
    sns.despine(fig)
    return fig


def two_recipes(short: pd.DataFrame, long: pd.DataFrame, title: str = "") -> plt.Figure:
    """Test accuracy against alpha of one network under two training recipes on one alpha axis: `short`, the
    book's evidence (mean per alpha with t intervals over seeds, every run a dot, a solid line), and `long`, the
    paper's 200-epoch recipe (its runs as diamonds, labelled with their accuracy, dashed lines between neighbouring
    alphas), so that each recipe's cost at an alpha reads against its own alpha = 0."""
    if short.empty or long.empty or 0.0 not in set(long.alpha) or long.alpha.nunique() < 2:
        what = title or "test accuracy under the two recipes"
        return _empty(what, f"a 200-epoch run at alpha = 0 and at one more alpha ({_have(long)})")
    fig, ax = _figure((6.4, 4.2))
    order = _alpha_axis(ax, set(short.alpha) | set(long.alpha))

    def label(runs: pd.DataFrame, name: str) -> str:
        epochs = int(runs.epochs.max())
        return f"{name}, {epochs} epoch{'s' if epochs != 1 else ''} ({seeds_per_alpha(runs)})"

    _series(
        ax, short, "alpha", "test_acc", order, "0.3", scale=100, label=label(short, f"{short.profile.iloc[0]} profile")
    )
    means = long.groupby("alpha").test_acc.mean()
    positions = [order.index(a) for a in means.index]
    ax.plot(positions, 100 * means.to_numpy(), color="tab:orange", marker="D", mec="white", ms=7, ls="none",
            zorder=4, label=label(long, "the paper's recipe"))  # fmt: skip
    at = dict(zip(positions, 100 * means.to_numpy(), strict=True))
    for run in _segments(sorted(positions)):  # a line only between neighbouring alphas, as for the short recipe
        ax.plot(run, [at[i] for i in run], color="tab:orange", ls="--", lw=1.3, zorder=4)
    for i, a in zip(positions, means.index, strict=True):  # on a white box: readable where it sits on a line
        ax.annotate(f"{100 * means[a]:.1f}", (i, 100 * means[a]), xytext=(6, 4), textcoords="offset points",
                    fontsize=SMALL, color="tab:orange", zorder=5,
                    bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.85))  # fmt: skip
    ax.set_ylabel(LABELS["test_acc"])
    ax.legend(fontsize=SMALL, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    ax.set_title(title, fontsize=10, pad=40 if title else 6)
    _provenance(
        fig,
        f"Grey: {describe(short)}. Orange: {describe(long)}. Error bars: {INTERVAL} over seeds (drawn from "
        f"{MIN_INTERVAL_N} seeds); dots: single runs; lines join neighbouring alphas only. Each recipe's cost at an "
        "alpha is its drop from its own alpha = 0.",
    )
    sns.despine(fig)
    return fig


def learning_curves(history: pd.DataFrame, model: str = "resnet20", activation: str = "relu") -> plt.Figure:
    """Minibatch mu_SI and validation accuracy per epoch for each alpha of one network (mean over seeds).
    history: `results.load_histories` rows."""
    h = _select(history, model, activation)
    if h.empty:
        return _empty(f"{model} learning curves", f"complete runs of {model} ({activation})")
    if "slope" in h and h.slope.nunique() > 1:
        raise ValueError("learning_curves draws one network: its runs have several slopes")
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.4), layout="constrained", dpi=DPI)  # legible at the page's width
    palette = alpha_colors(h.alpha)
    for ax, value, label in (
        (axes[0], "train_mu_si", "minibatch mu_SI (training)"),
        (axes[1], "val_acc", "validation accuracy"),
    ):
        for alpha, g in h.groupby("alpha"):
            mean = g.groupby("epoch")[value].mean()
            ax.plot(mean.index, mean.values, color=palette[alpha], label=f"{alpha:g}", lw=1.3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
    axes[1].legend(
        title="alpha", fontsize=SMALL, frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1)
    )  # off the lines
    runs = h.drop_duplicates(["alpha", "seed"])
    _footnote(fig, runs, f"{model} ({activation}); lines: mean over seeds", bars="", dots="")  # no dots drawn
    sns.despine(fig)
    return fig


def seed_spread(runs: pd.DataFrame) -> pd.DataFrame:
    """How far apart the seeds of one network and alpha land (a `runs` table): per network and alpha with at
    least two seeds, the seeds' lowest and highest test accuracy (%) and unit-mean SI, and their sample SD. What
    'within seed noise' means for a run retrained from its recorded command."""
    if runs.empty:
        return pd.DataFrame()
    rows = []
    for (model, activation, slope, alpha), g in runs.groupby(["model", "activation", "slope", "alpha"]):
        seeds = g.seed.nunique()
        if seeds < 2:
            continue
        acc, si = 100 * g.test_acc, g.si_unit_mean
        rows.append(
            {
                "network": arch_label(model, activation, slope),
                "alpha": alpha,
                "seeds": seeds,
                "test acc. lowest (%)": acc.min(),
                "test acc. highest (%)": acc.max(),
                "test acc. SD": acc.std(),
                "SI lowest": si.min(),
                "SI highest": si.max(),
                "SI SD": si.std(),
            }
        )
    return pd.DataFrame(rows)


def recipe_table(runs: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per run of a recipe study (a `runs` table): schedule, peak lr, Nesterov, warm-up, epochs, the
    device(s) that trained it, minutes of training as recorded and, given the runs' `history`, as epochs x the
    median epoch (which other work slowing a few epochs down does not move; see `typical_minutes`), best
    validation and test accuracy (%), sorted by validation accuracy, the runs at alpha = 0 first, then the
    stability checks by alpha."""
    if runs.empty:
        return pd.DataFrame()
    typical = typical_minutes(runs, history) if history is not None else np.full(len(runs), np.nan)
    table = pd.DataFrame(
        {
            "run": [Path(p).name for p in runs.path],
            "profile": runs.profile,
            "schedule": runs.schedule,
            "peak lr": runs.lr,
            "Nesterov": runs.nesterov,
            "warm-up epochs": runs.warmup_epochs,
            "epochs": runs.epochs,
            "alpha": runs.alpha,
            "device": runs.device if "device" in runs else None,
            "minutes": runs.train_seconds / 60,
            "minutes (median epoch)": typical,
            "best val. acc. (%)": 100 * runs.best_val_acc,
            "test acc. (%)": 100 * runs.test_acc,
        }
    )
    table = table.assign(check=table.alpha != 0)
    table = table.sort_values(["check", "alpha", "best val. acc. (%)"], ascending=[True, True, False])
    return table.drop(columns="check").reset_index(drop=True)


def recipe_curves(history: pd.DataFrame, runs: pd.DataFrame) -> plt.Figure:
    """Validation accuracy per epoch of each run of a recipe study: the runs at alpha = 0 (the candidates and the
    paper-recipe reference) in one panel, the stability checks at alpha != 0 in a second where there are any.
    Time is in `recipe_table`: runs that shared the machine with other work took longer per epoch, which an
    axis in minutes would mix in."""
    if history.empty:
        return _empty("recipe study", "runs under runs/recipe (bash scripts/recipe-study.sh)")
    names = {p: Path(p).name for p in runs.path}
    alphas = runs.set_index("path").alpha
    panels = [
        ("alpha = 0", history[history.path.map(alphas) == 0]),
        ("stability checks, alpha != 0", history[history.path.map(alphas) != 0]),
    ]
    panels = [(title, h) for title, h in panels if not h.empty]
    # panels one above the other, each the page's width: side by side, their fonts would shrink below legibility
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 4.4 * len(panels)), layout="constrained", dpi=DPI)
    for ax, (title, h) in zip(np.atleast_1d(axes), panels, strict=True):
        for i, (path, run) in enumerate(h.groupby("path", sort=False)):
            ax.plot(
                run.epoch, 100 * run.val_acc, marker="o", ms=2.5, lw=1.2, color=plt.cm.tab10(i % 10), label=names[path]
            )
        ax.set_xlabel("epoch")
        if h.epoch.max() > 4 * h.groupby("path").epoch.max().min():  # a long reference beside short runs
            ax.set_xscale("log")
            ax.set_xlabel("epoch (log scale)")
        else:
            ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title(title, fontsize=10)
        ax.legend(
            fontsize=SMALL, frameon=False, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.16)
        )  # off the lines
    images = " or ".join(f"{n:,}" for n in sorted(runs.train_images.dropna().astype(int).unique()))
    seeds = sorted(runs.seed.unique())
    about = f"{', '.join(sorted(runs.model.unique()))}, seed{'s' if len(seeds) > 1 else ''} "
    about += ", ".join(map(str, seeds)) + (f", {images} training images" if images else "")
    _footnote(fig, runs, about, bars="", dots="markers: epochs")
    sns.despine(fig)
    return fig


def cca_by_layer(distances: pd.DataFrame, alpha: float, title: str = "") -> plt.Figure:
    """Mean PWCCA distance per layer: within alpha (rho(a_r, a_r), light) vs against alpha = 0 (dark), with each
    network pair as a thin line. No interval: the pairs share networks, so they are not independent samples."""
    d = replicate_pairs(distances[distances.alpha == alpha]) if not distances.empty else distances
    if d.empty or d.kind.nunique() < 2:
        return _empty(
            title or f"CCA at alpha = {alpha:g}",
            "CCA distances (python -m selectivity_lib analyse) of at least two seeds at this alpha and at alpha = 0",
        )
    fig, ax = _figure((7.0, 4.0))
    for kind, color, label in (
        ("within", "#b8a9d9", f"rho(a{alpha:g}, a{alpha:g})"),
        ("cross", "#4b2c83", f"rho(a{alpha:g}, a0)"),
    ):
        part = d[d.kind == kind]
        for _, pair in part.groupby("pair"):
            pair = pair.sort_values("layer_index")
            ax.plot(pair.layer_index, pair.distance, color=color, lw=0.8, alpha=0.5)
        mean = part.groupby("layer_index").distance.mean()
        ax.plot(mean.index, mean.values, color=color, lw=2, label=f"{label}, {part.pair.nunique()} pair(s)")
    names = d.drop_duplicates("layer_index").sort_values("layer_index").layer
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=SMALL)
    ax.set_ylabel("PWCCA distance")
    ax.legend(frameon=False)
    ax.set_title(title, fontsize=10)
    _cca_footnote(
        fig,
        d,
        "thick lines: mean over network pairs; thin lines: single pairs (they share networks, so no interval is drawn)",
    )
    sns.despine(fig)
    return fig


def cca_ratio(distances: pd.DataFrame, title: str = "") -> plt.Figure:
    """CCA distance ratio against alpha (1 = no more different than replicates): the ratio, and each cross
    pair's own ratio as a dot; stars: the one-sided permutation test over networks that the ratio exceeds 1."""
    table = cca_ratio_table(distances) if not distances.empty else pd.DataFrame()
    if table.empty:
        return _empty(
            title or "CCA distance ratio",
            "CCA distances (python -m selectivity_lib analyse) of at least two seeds at alpha = 0 and at another alpha",
        )
    if table.alpha.duplicated().any():
        raise ValueError("cca_ratio plots one network: select one model and activation first (fig3b does)")
    pair_ratios = cca_pair_ratios(distances)
    fig, ax = _figure()
    colors = alpha_colors(table.alpha)
    order = _alpha_axis(ax, table.alpha)
    top = max(table.ratio.max(), pair_ratios.ratio.max() if not pair_ratios.empty else 0)
    for i, a in enumerate(order):
        row = table.set_index("alpha").loc[a]
        _seed_dots(ax, i, pair_ratios.loc[pair_ratios.alpha == a, "ratio"].to_numpy(), colors[a])
        ax.plot(i, row.ratio, color=colors[a], marker="o", ms=7)
        ax.text(i, top * 1.01, stars(row.p, (0.05, 5e-3, 5e-6)), ha="center", va="bottom")
    ax.axhline(1.0, color="0.5", ls="--", lw=1)
    ax.set_ylabel("CCA distance ratio")
    ax.set_title(title, fontsize=10)
    floors = table.p_min.dropna()
    reach = (
        f"the smallest p these networks allow is {floors.min():.2g}"
        + (f" to {floors.max():.2g}" if floors.max() > floors.min() else "")
        + " (p_min in the table)"
        if not floors.empty
        else "no alpha is testable yet"
    )
    note = (
        "large dots: the ratio; small dots: single cross pairs; stars: one-sided permutation test over networks "
        f"(relabelled within seeds) that the ratio exceeds 1 (* p < 0.05); {reach}"
    )
    _cca_footnote(fig, distances, note)
    sns.despine(fig)
    return fig


def _cca_footnote(fig, d: pd.DataFrame, extra: str) -> None:
    d = replicate_pairs(d)
    seeds = sorted(set(d.seed_a) | set(d.seed_b)) if "seed_a" in d else []
    text = (
        f"profile {', '.join(sorted(d.profile.unique()))}; dataset {', '.join(sorted(d.dataset.unique()))}; "
        f"seeds {', '.join(map(str, seeds))}; pairs of networks with different seeds only; datapoints: "
        f"{d.reduce.iloc[0]}; {extra}"
    )
    _provenance(fig, text)


# --- one function per figure of the paper --------------------------------------------------------------


def fig1a(r: Results, model="resnet20"):
    return by_layer(
        _select(r.layers, model, sign="neg"), "si_mean", f"{model}: class selectivity per layer, alpha <= 0"
    )


def fig1b(r: Results, model="resnet20"):
    return vs_alpha(_select(r.runs, model, sign="neg"), "si_unit_mean", f"{model}: mean class selectivity, alpha <= 0")


def fig2a(r: Results, model="resnet20"):
    return vs_alpha(_select(r.runs, model, sign="neg"), "test_acc", f"{model}: test accuracy, alpha <= 0")


def fig2b(r: Results, model="resnet20", alphas=None):
    runs = _select(r.runs, model, sign="neg")
    alphas = alphas if alphas is not None else sorted(runs.alpha.unique(), key=abs)[:6]
    return violins(
        runs, "test_acc", alphas, f"{model}: test accuracy over seeds, the {len(alphas)} alphas <= 0 nearest 0"
    )


def fig2c(r: Results, model="resnet20"):
    return accuracy_vs_selectivity(
        _select(r.runs, model, sign="neg"), "si_unit_mean", f"{model}: accuracy vs selectivity"
    )


def fig3a(distances: pd.DataFrame, alpha: float | None = None, model="resnet20"):
    d = _select(distances, model)
    if alpha is None and not d.empty:  # the most negative alpha with both kinds of pair (2+ seeds there)
        pairs = replicate_pairs(d[d.alpha != 0])
        kinds = pairs.groupby("alpha").kind.nunique()
        alpha = min(kinds.index[kinds == 2], default=min(d.alpha[d.alpha != 0], default=0.0))
    return cca_by_layer(d, alpha if alpha is not None else 0.0, f"{model}: PWCCA distance per layer")


def fig3b(distances: pd.DataFrame, model="resnet20"):
    return cca_ratio(_select(distances, model), f"{model}: CCA distance ratio")


def fig4a(r: Results, model="resnet20"):
    return vs_alpha(
        _select(r.runs, model, sign="pos"), "test_acc", f"{model}: test accuracy, alpha >= 0", thresholds=(2e-4, 5e-7)
    )


def fig4b(r: Results, model="resnet20", alphas=None):
    runs = _select(r.runs, model, sign="pos")
    alphas = alphas if alphas is not None else sorted(runs.alpha.unique())[:6]
    return violins(
        runs, "test_acc", alphas, f"{model}: test accuracy over seeds, the {len(alphas)} alphas >= 0 nearest 0"
    )


def fig4c(r: Results, model="resnet20"):
    return accuracy_vs_selectivity(
        _select(r.runs, model, sign="pos"), "si_unit_mean", f"{model}: accuracy vs selectivity"
    )


def fig5a(r: Results, model="resnet20"):
    return promote_vs_penalize(_select(r.runs, model), "test_acc", f"{model}: promoting vs penalizing selectivity")


def fig5b(r: Results, model="resnet20"):
    return accuracy_vs_selectivity(
        _select(r.runs, model), "si_unit_mean", f"{model}: accuracy vs selectivity, all alpha"
    )


def figA1a(r: Results, model="resnet20"):
    return by_layer(
        _select(r.layers, model, sign="pos"), "si_mean", f"{model}: class selectivity per layer, alpha >= 0"
    )


def figA1b(r: Results, model="resnet20"):
    return vs_alpha(_select(r.runs, model, sign="pos"), "si_unit_mean", f"{model}: mean class selectivity, alpha >= 0")


def figA7a(r: Results, model="resnet20"):
    return by_layer(_select(r.layers, model, sign="neg"), "precision_mean", f"{model}: precision per layer, alpha <= 0")


def figA7b(r: Results, model="resnet20"):
    return vs_alpha(_select(r.runs, model, sign="neg"), "precision_unit_mean", f"{model}: mean precision, alpha <= 0")


def figA8a(r: Results, model="resnet20"):
    return by_layer(_select(r.layers, model, sign="pos"), "precision_mean", f"{model}: precision per layer, alpha >= 0")


def figA8b(r: Results, model="resnet20"):
    return vs_alpha(_select(r.runs, model, sign="pos"), "precision_unit_mean", f"{model}: mean precision, alpha >= 0")


def figA9a(r: Results, model="resnet20"):
    return by_layer(_select(r.layers, model, sign="pos"), "dead_fraction", f"{model}: dead units per layer, alpha >= 0")


def figA9b(r: Results, model="resnet20"):
    return vs_alpha(
        _select(r.runs, model, sign="pos"),
        "si_unit_mean_alive",
        f"{model}: selectivity without dead units, alpha >= 0",
        thresholds=(2e-4, 5e-7),
    )


def figA9c(r: Results, model="resnet20"):
    return accuracy_vs_selectivity(
        _select(r.runs, model, sign="pos"), "si_unit_mean_alive", f"{model}: accuracy vs selectivity without dead units"
    )


def figA10a(r: Results, model="resnet20"):
    return by_slope(
        _select(r.runs, model, activation=None, sign="pos"), "test_acc", f"{model}: test accuracy per leaky-ReLU slope"
    )


def figA10b(r: Results, model="resnet20", slope=0.5):
    runs = _select(r.runs, model, activation="leaky_relu", sign="pos")
    return vs_alpha(
        runs[runs.slope == slope],
        "si_unit_mean",
        f"{model}: mean selectivity, leaky ReLU b = {slope:g}",
        thresholds=(1e-3, 2e-4, 5e-10),
    )


def figA11(r: Results, model="resnet20"):
    return promote_vs_penalize(_select(r.runs, model), "test_acc", f"{model}: promoting vs penalizing")


def figA12a(r: Results):
    return compare_models(_select(r.runs, None), "test_acc", "test accuracy: ResNet20 vs VGG16")


def figA12b(r: Results):
    return compare_models(_select(r.runs, None), "si_unit_mean", "class selectivity: ResNet20 vs VGG16")


# The robustness chapter (the follow-up's question): per-run summaries from `robustness.run_summary`.
LABELS |= {
    "corruption": "accuracy under corruption (%)",
    "corruption_rel": "accuracy under corruption / clean",
    "pgd_rel": "PGD accuracy / clean",
    "dim_clean": "early-layer participation ratio (clean)",
}


def robustness_vs_selectivity(summary: pd.DataFrame, value: str = "corruption_rel", title: str = "") -> plt.Figure:
    """`value` of each analysed run against its measured mean class selectivity, coloured by alpha."""
    if summary.empty or summary.alpha.nunique() < 2:
        return _empty(title or value, f"analysed runs at two or more alphas ({_have(summary)})")
    fig, ax = _figure()
    colors = alpha_colors(summary.alpha)
    for a, part in summary.groupby("alpha"):
        ax.scatter(part.si_unit_mean, part[value], s=22, color=colors[a], label=f"{a:g}", zorder=3)
    ax.set_xlabel(LABELS["si_unit_mean"])
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(title="alpha", fontsize=SMALL, ncols=2, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_title(title, fontsize=10)
    _footnote(fig, summary, "one point per network", bars="")
    sns.despine(fig)
    return fig


def _lines_over_alpha(summary: pd.DataFrame, series: dict, ylabel: str, title: str, extra: str) -> plt.Figure:
    """One line per entry of `series` ({label: column}) over a categorical alpha axis, means with t intervals
    and every run as a dot; a line breaks where an alpha has no value."""
    fig, ax = _figure()
    order = _alpha_axis(ax, summary.alpha.unique())
    palette = sns.color_palette("viridis", len(series))
    for color, (label, column) in zip(palette, series.items(), strict=True):
        part = summary.dropna(subset=[column])
        _series(ax, part, "alpha", column, order, color, label=label)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=SMALL, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    ax.set_title(title, fontsize=10)
    _footnote(fig, summary, extra)
    sns.despine(fig)
    return fig


def attack_accuracy(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """PGD accuracy (%) against alpha, one line per epsilon."""
    columns = sorted((c for c in summary.columns if c.startswith("pgd_") and c != "pgd_rel"), key=lambda c: int(c[4:]))
    if summary.empty or summary.alpha.nunique() < 2 or not columns:
        return _empty(title or "accuracy under attack", f"analysed runs at two or more alphas ({_have(summary)})")
    series = {f"epsilon {c[4:]}/255": c for c in columns}
    return _lines_over_alpha(summary, series, "accuracy under PGD (%)", title, "white-box L-inf PGD")


def dimensionality_change(summary: pd.DataFrame, title: str = "") -> plt.Figure:
    """Increase of the early layers' participation ratio under corruption and under PGD, against alpha."""
    if summary.empty or summary.alpha.nunique() < 2 or "dim_up_pgd" not in summary:
        return _empty(title or "dimensionality change", f"analysed runs at two or more alphas ({_have(summary)})")
    series = {"under PGD (mean over epsilons)": "dim_up_pgd", "under corruption (mean)": "dim_up_corruption"}
    fig = _lines_over_alpha(summary, series, "increase in participation ratio", title, "early layers")
    fig.axes[0].axhline(0, color="0.6", lw=0.8, zorder=0)
    return fig


def corruption_examples(images: np.ndarray, families, severities) -> plt.Figure:
    """One test image clean (first column) and under each corruption (rows) at each severity (columns)."""
    rows, cols = len(families), 1 + len(severities)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.0 + 1.6, rows * 1.0), dpi=DPI, layout="constrained")
    for r, family in enumerate(families):
        for c in range(cols):
            ax = axes[r, c]
            image = images[0] if c == 0 else images[1 + r * len(severities) + (c - 1)]
            ax.imshow(np.transpose(image, (1, 2, 0)), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title("clean" if c == 0 else f"severity {severities[c - 1]}", fontsize=9)
            if c == 0:
                ax.set_ylabel(str(family).replace("_", " "), fontsize=9, rotation=0, ha="right", va="center")
    return fig


FIGURES = {
    "1a": fig1a,
    "1b": fig1b,
    "2a": fig2a,
    "2b": fig2b,
    "2c": fig2c,
    "3a": fig3a,
    "3b": fig3b,
    "4a": fig4a,
    "4b": fig4b,
    "4c": fig4c,
    "5a": fig5a,
    "5b": fig5b,
    "A1a": figA1a,
    "A1b": figA1b,
    # VGG16 versions through the same functions
    "A2a": partial(fig1a, model="vgg16"),
    "A2b": partial(fig1b, model="vgg16"),
    "A3a": partial(fig2a, model="vgg16"),
    "A3b": partial(fig2b, model="vgg16"),
    "A3c": partial(fig2c, model="vgg16"),
    "A4a": partial(figA1a, model="vgg16"),
    "A4b": partial(figA1b, model="vgg16"),
    "A5a": partial(fig4a, model="vgg16"),
    "A5b": partial(fig4b, model="vgg16"),
    "A5c": partial(fig4c, model="vgg16"),
    "A6": partial(figA11, model="vgg16"),
    "A7a": figA7a,
    "A7b": figA7b,
    "A8a": figA8a,
    "A8b": figA8b,
    "A9a": figA9a,
    "A9b": figA9b,
    "A9c": figA9c,
    "A10a": figA10a,
    "A10b": figA10b,
    "A11": figA11,
    "A12a": figA12a,
    "A12b": figA12b,
}
CCA_FIGURES = {"3a", "3b"}  # these take the CCA distance table instead of Results

# What each figure shows, for its caption (the chapters add the paper's figure number and panel letter).
CAPTIONS = {
    "1a": "Mean class selectivity per layer of ResNet20, one line per alpha ≤ 0.",
    "1b": "Mean class selectivity of all ResNet20 units against alpha ≤ 0.",
    "2a": "ResNet20 test accuracy against alpha ≤ 0.",
    "2b": "Distribution of ResNet20 test accuracy over seeds at the smallest |alpha| ≤ 0.",
    "2c": "ResNet20 test accuracy against mean class selectivity, one point per alpha ≤ 0.",
    "3a": "PWCCA distance per layer at the most negative alpha with two or more seeds: between networks at that "
    "alpha (light) and from them to networks at alpha = 0 (dark).",
    "3b": "CCA distance ratio (distance to alpha = 0 networks over distance between replicates) against alpha.",
    "4a": "ResNet20 test accuracy against alpha ≥ 0.",
    "4b": "Distribution of ResNet20 test accuracy over seeds at the smallest alpha ≥ 0.",
    "4c": "ResNet20 test accuracy against mean class selectivity, one point per alpha ≥ 0.",
    "5a": "ResNet20 test accuracy against |alpha|, promoting (alpha > 0, red) against penalizing (alpha < 0, "
    "blue) selectivity.",
    "5b": "ResNet20 test accuracy against mean class selectivity over all alphas.",
    "A1a": "Mean class selectivity per layer of ResNet20, one line per alpha ≥ 0.",
    "A1b": "Mean class selectivity of all ResNet20 units against alpha ≥ 0.",
    "A2a": "VGG16: mean class selectivity per layer, alpha ≤ 0.",
    "A2b": "VGG16: mean class selectivity against alpha ≤ 0.",
    "A3a": "VGG16: test accuracy against alpha ≤ 0.",
    "A3b": "VGG16: distribution of test accuracy over seeds at the smallest |alpha| ≤ 0.",
    "A3c": "VGG16: test accuracy against mean class selectivity, alpha ≤ 0.",
    "A4a": "VGG16: mean class selectivity per layer, alpha ≥ 0.",
    "A4b": "VGG16: mean class selectivity against alpha ≥ 0.",
    "A5a": "VGG16: test accuracy against alpha ≥ 0.",
    "A5b": "VGG16: distribution of test accuracy over seeds at the smallest alpha ≥ 0.",
    "A5c": "VGG16: test accuracy against mean class selectivity, alpha ≥ 0.",
    "A6": "VGG16: test accuracy against |alpha|, promoting against penalizing selectivity.",
    "A7a": "ResNet20: mean precision per layer, alpha ≤ 0.",
    "A7b": "ResNet20: mean precision of all units against alpha ≤ 0.",
    "A8a": "ResNet20: mean precision per layer, alpha ≥ 0.",
    "A8b": "ResNet20: mean precision of all units against alpha ≥ 0.",
    "A9a": "ResNet20: proportion of dead units per layer, alpha ≥ 0.",
    "A9b": "ResNet20: mean class selectivity with dead units left out, against alpha ≥ 0.",
    "A9c": "ResNet20: test accuracy against mean class selectivity with dead units left out, alpha ≥ 0.",
    "A10a": "ResNet20 test accuracy against alpha ≥ 0 for ReLU (b = 0) and leaky ReLU slopes b.",
    "A10b": "Mean class selectivity of leaky-ReLU (b = 0.5) ResNet20 against alpha ≥ 0.",
    "A11": "ResNet20: test accuracy against |alpha|, promoting against penalizing selectivity "
    "(Wilcoxon rank-sum test at each |alpha|).",
    "A12a": "Test accuracy of ResNet20 and VGG16 against alpha.",
    "A12b": "Mean class selectivity of ResNet20 and VGG16 against alpha.",
}
