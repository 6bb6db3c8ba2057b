"""The paper's figures, one function each: tidy DataFrames in (from `results` and `analyse`), Figure out.

Colours follow the paper: blues for alpha < 0 (darker for larger |alpha|), reds for alpha > 0, grey for
alpha = 0. Error bars are bootstrapped 95% CIs over seeds; stars mark Bonferroni-corrected tests from
`stats`. Every figure carries a footnote naming the profile, dataset and seeds it was drawn from. A figure
with no matching runs says so instead of failing.

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

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .results import Results, describe, one_recipe
from .stats import paired_ttest, ranksum_by_magnitude, stars, summarize, ttest_vs_baseline

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
    out = df
    if model is not None:
        out = out[out.model == model]
    if activation is not None:
        out = out[out.activation == activation]
    return _sign(one_recipe(out), sign)


def _figure(size=(6.0, 4.0)):
    sns.set_theme(style="ticks", context="notebook")
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    return fig, ax


def _footnote(fig, runs: pd.DataFrame, extra: str = "") -> None:
    text = describe(runs) + (f"; {extra}" if extra else "") + "; error bars: bootstrapped 95% CI"
    fig.text(0.01, -0.02, text, fontsize=7, color="0.3", ha="left", va="top")


def _empty(what: str):
    fig, ax = _figure()
    ax.axis("off")
    ax.text(0.5, 0.5, f"no runs yet for {what}", ha="center", va="center", fontsize=11, color="0.4")
    return fig


def _alpha_axis(ax, alphas) -> list:
    order = sorted(alphas, key=lambda a: (abs(a), a))
    ax.set_xticks(range(len(order)), [f"{a:g}" for a in order])
    ax.set_xlabel("regularization scale alpha")
    return order


def by_layer(layers: pd.DataFrame, value: str = "si_mean", title: str = "") -> plt.Figure:
    """Per-layer mean of `value` for each alpha (lines), CIs over seeds. layers: `Results.layers` rows."""
    if layers.empty:
        return _empty(title or value)
    fig, ax = _figure((7.0, 4.0))
    colors = alpha_colors(layers.alpha)
    for alpha, group in layers.groupby("alpha"):
        s = summarize(group, "layer_index", value)
        ax.errorbar(
            s.layer_index,
            s["mean"],
            yerr=[s["mean"] - s.ci_low, s.ci_high - s["mean"]],
            color=colors[alpha],
            marker="o",
            ms=3,
            lw=1.2,
            capsize=2,
            label=f"{alpha:g}",
        )
    names = layers.drop_duplicates("layer_index").sort_values("layer_index").layer
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_xlabel("layer")
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(title="alpha", fontsize=7, ncols=2, frameon=False)
    ax.set_title(title, fontsize=10)
    _footnote(fig, layers.drop_duplicates(["model", "activation", "slope", "alpha", "seed"]))
    sns.despine(fig)
    return fig


def vs_alpha(
    runs: pd.DataFrame, value: str, title: str = "", test: bool = True, thresholds=(0.05, 5e-3, 5e-6)
) -> plt.Figure:
    """Mean of `value` per alpha with CIs; stars: t-test against alpha = 0, Bonferroni-corrected."""
    if runs.empty:
        return _empty(title or value)
    fig, ax = _figure()
    scale = 100 if value == "test_acc" else 1
    colors = alpha_colors(runs.alpha)
    order = _alpha_axis(ax, runs.alpha.unique())
    s = summarize(runs, "alpha", value).set_index("alpha")
    for i, a in enumerate(order):
        row = s.loc[a]
        ax.errorbar(
            i,
            scale * row["mean"],
            yerr=[[scale * (row["mean"] - row.ci_low)], [scale * (row.ci_high - row["mean"])]],
            color=colors[a],
            marker="o",
            capsize=3,
        )
    if test and 0.0 in s.index:
        tests = ttest_vs_baseline(runs, value).set_index("alpha")
        top = scale * s.ci_high.max()
        for i, a in enumerate(order):
            if a in tests.index:
                ax.text(i, top, stars(tests.loc[a, "p_bonferroni"], thresholds), ha="center", va="bottom")
    ax.set_ylabel(LABELS.get(value, value))
    ax.set_title(title, fontsize=10)
    _footnote(fig, runs, "stars: t-test vs alpha = 0, Bonferroni" if test else "")
    sns.despine(fig)
    return fig


def violins(runs: pd.DataFrame, value: str = "test_acc", alphas=None, title: str = "") -> plt.Figure:
    """Distribution over seeds of `value` for a subset of alphas (violin with an inner box plot)."""
    data = runs if alphas is None else runs[runs.alpha.isin(alphas)]
    if data.empty:
        return _empty(title or value)
    fig, ax = _figure()
    order = sorted(data.alpha.unique(), key=lambda a: (abs(a), a))
    colors = alpha_colors(data.alpha)
    scale = 100 if value == "test_acc" else 1
    plot = data.assign(y=scale * data[value], a=data.alpha.map(lambda a: f"{a:g}"))
    sns.violinplot(
        plot,
        x="a",
        y="y",
        hue="a",
        order=[f"{a:g}" for a in order],
        palette={f"{a:g}": colors[a] for a in order},
        inner="box",
        cut=0,
        ax=ax,
        legend=False,
    )
    ax.set_xlabel("regularization scale alpha")
    ax.set_ylabel(LABELS.get(value, value))
    ax.set_title(title, fontsize=10)
    _footnote(fig, data)
    sns.despine(fig)
    return fig


def accuracy_vs_selectivity(runs: pd.DataFrame, si: str = "si_unit_mean", title: str = "") -> plt.Figure:
    """Test accuracy against mean selectivity, one point per alpha with CIs on both axes."""
    if runs.empty:
        return _empty(title or "accuracy vs selectivity")
    fig, ax = _figure()
    colors = alpha_colors(runs.alpha)
    sx, sy = summarize(runs, "alpha", si).set_index("alpha"), summarize(runs, "alpha", "test_acc").set_index("alpha")
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
    ax.legend(title="alpha", fontsize=7, ncols=2, frameon=False)
    ax.set_title(title, fontsize=10)
    _footnote(fig, runs)
    sns.despine(fig)
    return fig


def promote_vs_penalize(
    runs: pd.DataFrame, value: str = "test_acc", title: str = "", thresholds=(0.05, 6e-6)
) -> plt.Figure:
    """`value` against |alpha| for alpha < 0 (blue) and alpha > 0 (red); stars: rank-sum, Bonferroni."""
    signed = runs[runs.alpha != 0]
    if signed.empty:
        return _empty(title or "promoting vs penalizing")
    fig, ax = _figure()
    scale = 100 if value == "test_acc" else 1
    mags = sorted(signed.alpha.abs().unique())
    for sign, color, label in ((-1, "tab:blue", "alpha < 0"), (1, "tab:red", "alpha > 0")):
        part = signed[np.sign(signed.alpha) == sign].assign(magnitude=lambda d: d.alpha.abs())
        if part.empty:
            continue
        s = summarize(part, "magnitude", value)
        x = [mags.index(m) for m in s.magnitude]
        ax.errorbar(
            x,
            scale * s["mean"],
            yerr=[scale * (s["mean"] - s.ci_low), scale * (s.ci_high - s["mean"])],
            color=color,
            marker="o",
            capsize=3,
            label=label,
        )
    tests = ranksum_by_magnitude(runs, value)
    top = scale * signed[value].max()
    for _, row in tests.iterrows():
        ax.text(mags.index(row.magnitude), top, stars(row.p_bonferroni, thresholds), ha="center", va="bottom")
    ax.set_xticks(range(len(mags)), [f"{m:g}" for m in mags])
    ax.set_xlabel("|alpha|")
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(frameon=False)
    ax.set_title(title, fontsize=10)
    _footnote(fig, runs, "stars: Wilcoxon rank-sum alpha<0 vs alpha>0, Bonferroni")
    sns.despine(fig)
    return fig


def compare_models(runs: pd.DataFrame, value: str, title: str = "") -> plt.Figure:
    """`value` against alpha for ResNet20 (cyan) and VGG16 (orange)."""
    if runs.empty:
        return _empty(title or value)
    fig, ax = _figure()
    order = _alpha_axis(ax, runs.alpha.unique())
    scale = 100 if value == "test_acc" else 1
    for model, color in (("resnet20", "c"), ("vgg16", "tab:orange")):
        part = runs[runs.model == model]
        if part.empty:
            continue
        s = summarize(part, "alpha", value)
        x = [order.index(a) for a in s.alpha]
        ax.errorbar(
            x,
            scale * s["mean"],
            yerr=[scale * (s["mean"] - s.ci_low), scale * (s.ci_high - s["mean"])],
            color=color,
            marker="o",
            capsize=3,
            label=model,
            ls="none",
        )
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(frameon=False)
    ax.set_title(title, fontsize=10)
    _footnote(fig, runs)
    sns.despine(fig)
    return fig


def by_slope(runs: pd.DataFrame, value: str = "test_acc", title: str = "") -> plt.Figure:
    """`value` against alpha for each leaky-ReLU slope b (ReLU is b = 0), darker red for larger b."""
    if runs.empty:
        return _empty(title or value)
    fig, ax = _figure()
    order = _alpha_axis(ax, runs.alpha.unique())
    scale = 100 if value == "test_acc" else 1
    slopes = sorted(runs.slope.unique())
    for i, b in enumerate(slopes):
        s = summarize(runs[runs.slope == b], "alpha", value)
        ax.errorbar(
            [order.index(a) for a in s.alpha],
            scale * s["mean"],
            yerr=[scale * (s["mean"] - s.ci_low), scale * (s.ci_high - s["mean"])],
            color=plt.cm.Reds(0.35 + 0.65 * (i + 1) / len(slopes)),
            marker="o",
            capsize=3,
            label=f"b = {b:g}",
        )
    ax.set_ylabel(LABELS.get(value, value))
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title, fontsize=10)
    _footnote(fig, runs)
    sns.despine(fig)
    return fig


def cca_by_layer(distances: pd.DataFrame, alpha: float, title: str = "") -> plt.Figure:
    """Mean PWCCA distance per layer: within alpha (rho(a_r, a_r), light) vs against alpha = 0 (dark)."""
    d = distances[distances.alpha == alpha] if not distances.empty else distances
    if d.empty:
        return _empty(title or f"CCA at alpha = {alpha:g}")
    fig, ax = _figure((7.0, 4.0))
    for kind, color, label in (
        ("within", "#b8a9d9", f"rho(a{alpha:g}, a{alpha:g})"),
        ("cross", "#4b2c83", f"rho(a{alpha:g}, a0)"),
    ):
        s = summarize(d[d.kind == kind], "layer_index", "distance")
        ax.plot(s.layer_index, s["mean"], color=color, label=label)
        ax.fill_between(s.layer_index, s.ci_low, s.ci_high, color=color, alpha=0.3, lw=0)
    names = d.drop_duplicates("layer_index").sort_values("layer_index").layer
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_ylabel("PWCCA distance")
    ax.legend(frameon=False)
    ax.set_title(title, fontsize=10)
    _cca_footnote(fig, d)
    sns.despine(fig)
    return fig


def cca_ratio_table(distances: pd.DataFrame) -> pd.DataFrame:
    """Per network (model, activation, slope) and alpha != 0: the CCA distance ratio mean rho(a_r, a_0) /
    mean rho(a_r, a_r) per layer, its mean over layers with a bootstrap CI over layers, and a paired t-test
    (over layers) of the per-layer mean cross distance against the per-layer mean within distance.
    """
    networks = [c for c in ("model", "activation", "slope") if c in distances.columns]
    rows = []
    for key, d in distances[distances.alpha != 0].groupby([*networks, "alpha"]):
        per_layer = d.groupby(["layer_index", "kind"]).distance.mean().unstack()
        if not {"within", "cross"} <= set(per_layer.columns):
            continue
        ratio = per_layer["cross"] / per_layer["within"]
        s = summarize(pd.DataFrame({"r": ratio.values, "g": 0}), "g", "r").iloc[0]
        t, p = paired_ttest(per_layer["cross"], per_layer["within"]) if len(per_layer) > 1 else (np.nan, np.nan)
        rows.append(
            {
                **dict(zip(networks, key[:-1], strict=True)),
                "alpha": key[-1],
                "ratio": s["mean"],
                "ci_low": s.ci_low,
                "ci_high": s.ci_high,
                "layers": len(ratio),
                "t": t,
                "p": p,
            }
        )
    return pd.DataFrame(rows)


def cca_ratio(distances: pd.DataFrame, title: str = "") -> plt.Figure:
    """CCA distance ratio (mean over layers) against alpha; 1 = no more different than replicates."""
    table = cca_ratio_table(distances) if not distances.empty else pd.DataFrame()
    if table.empty:
        return _empty(title or "CCA distance ratio")
    if table.alpha.duplicated().any():
        raise ValueError("cca_ratio plots one network: select one model and activation first (fig3b does)")
    fig, ax = _figure()
    colors = alpha_colors(table.alpha)
    order = _alpha_axis(ax, table.alpha)
    for i, a in enumerate(order):
        row = table.set_index("alpha").loc[a]
        ax.errorbar(
            i,
            row.ratio,
            yerr=[[row.ratio - row.ci_low], [row.ci_high - row.ratio]],
            color=colors[a],
            marker="o",
            capsize=3,
        )
        ax.text(i, row.ci_high, stars(row.p, (0.05, 5e-3, 5e-6)), ha="center", va="bottom")
    ax.axhline(1.0, color="0.5", ls="--", lw=1)
    ax.set_ylabel("CCA distance ratio")
    ax.set_title(title, fontsize=10)
    _cca_footnote(fig, distances)
    sns.despine(fig)
    return fig


def _cca_footnote(fig, d: pd.DataFrame) -> None:
    text = (
        f"profile {', '.join(sorted(d.profile.unique()))}; dataset {', '.join(sorted(d.dataset.unique()))}; "
        f"{d.groupby(['alpha', 'kind']).pair.nunique().min()}+ pairs per alpha; datapoints: {d.reduce.iloc[0]}; "
        "bands/bars: bootstrapped 95% CI"
    )
    fig.text(0.01, -0.02, text, fontsize=7, color="0.3", ha="left", va="top")


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
    return violins(runs, "test_acc", alphas, f"{model}: test accuracy, small |alpha|")


def fig2c(r: Results, model="resnet20"):
    return accuracy_vs_selectivity(
        _select(r.runs, model, sign="neg"), "si_unit_mean", f"{model}: accuracy vs selectivity"
    )


def fig3a(distances: pd.DataFrame, alpha: float | None = None, model="resnet20"):
    d = _select(distances, model)
    if alpha is None and not d.empty:
        alpha = min(d.alpha[d.alpha != 0], default=0.0)  # the most negative alpha run
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
    return violins(runs, "test_acc", alphas, f"{model}: test accuracy, small alpha > 0")


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
