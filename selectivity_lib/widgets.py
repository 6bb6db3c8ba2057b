"""The class selectivity index explorer: ten sliders for a unit's class-conditional mean responses.

One front end (the JavaScript below) serves two places:

* a live notebook: `IndexExplorer` is an anywidget (an ipywidgets DOM widget); moving a slider updates the
  `means` trait on the Python side too, where `explorer.si` recomputes the index with
  `selectivity_lib.selectivity.class_selectivity_index`;
* the rendered book, with no kernel: the widget's display also carries a self-contained `text/html`
  version that runs the same JavaScript against a small in-page model, so readers can move the sliders in
  the static page. The book's configuration drops the widget-view output for HTML builds so this version
  is the one shown.

The JavaScript computes the index exactly as the library does: eps = 1e-7, and class means shifted up by
the most negative one when any is negative.
"""

from __future__ import annotations

import html
import json
import uuid

import anywidget
import torch
import traitlets

from .data import CIFAR10_CLASSES
from .selectivity import EPS, class_selectivity_index

ESM = r"""
const TIE = 1e-9;  // class means this close to the largest count as tied for it

function selectivity(means, eps) {
  const lowest = Math.min(...means);
  const m = lowest < 0 ? means.map((v) => v - lowest) : means;
  let k = 0;
  m.forEach((v, i) => { if (v > m[k]) k = i; });
  const tied = m.map((v, i) => i).filter((i) => m[k] - m[i] <= TIE);
  const rest = (m.reduce((a, b) => a + b, 0) - m[k]) / (m.length - 1);
  return { k, tied, shifted: m, shift: lowest < 0 ? -lowest : 0, muMax: m[k], muRest: rest,
           si: (m[k] - rest) / (m[k] + rest + eps) };
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, String(v)));
  if (text !== undefined) node.textContent = text;
  return node;
}

// The chart: the means the index reads (shifted up when any is negative), one bar per class with its name
// under it, a y axis, and dashed lines at mu_max and mu_-max.
function drawChart(chart, classes, r) {
  const W = 390, H = 230, left = 50, right = 62, top = 10, bottom = 78;
  const plotW = W - left - right, plotH = H - top - bottom;
  const ymax = Math.max(1, ...r.shifted);
  const y = (v) => top + plotH * (1 - v / ymax);
  chart.replaceChildren();
  chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
  chart.appendChild(svg("line", { x1: left, x2: left, y1: top, y2: top + plotH, stroke: "#555" }));
  chart.appendChild(svg("line", { x1: left, x2: left + plotW, y1: top + plotH, y2: top + plotH, stroke: "#555" }));
  for (let t = 0; t <= 4; t++) {
    const v = (ymax * t) / 4;
    chart.appendChild(svg("line", { x1: left - 4, x2: left, y1: y(v), y2: y(v), stroke: "#555" }));
    chart.appendChild(svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11 }, v.toFixed(2)));
  }
  chart.appendChild(svg("text", { x: 10, y: top + plotH / 2, "font-size": 11, "text-anchor": "middle",
                                  transform: `rotate(-90 10 ${top + plotH / 2})` }, "mean response"));
  const step = plotW / classes.length;
  classes.forEach((name, i) => {
    const v = r.shifted[i], x = left + i * step + step * 0.15;
    const preferred = r.tied.length === 1 && i === r.k;
    const bar = svg("rect", { x, y: y(Math.max(0, v)), width: step * 0.7, height: Math.max(0, y(0) - y(v)),
                              fill: preferred ? "#08519c" : "#9ecae1", "data-role": "bar" });
    bar.appendChild(svg("title", {}, `${name}: ${v.toFixed(3)}`));
    chart.appendChild(bar);
    const cx = left + (i + 0.5) * step, cy = top + plotH + 8;
    chart.appendChild(svg("text", { x: cx, y: cy, "font-size": 11, "text-anchor": "end", "data-role": "class-label",
                                    transform: `rotate(-55 ${cx} ${cy})` }, name));
  });
  [["mu-max line", r.muMax, "#b2182b", "\u03bc max"], ["mu-rest line", r.muRest, "#444", "\u03bc \u2212max"]]
    .forEach(([role, v, color, label]) => {
      chart.appendChild(svg("line", { x1: left, x2: left + plotW, y1: y(v), y2: y(v), stroke: color,
                                      "stroke-dasharray": "5 3", "data-role": role }));
      chart.appendChild(svg("text", { x: left + plotW + 4, y: y(v) + 4, "font-size": 11, fill: color }, label));
    });
}

function render({ model, el }) {
  const classes = model.get("classes");
  const presets = model.get("presets");
  const root = document.createElement("div");
  root.className = "si-explorer";
  root.style.cssText = "font: 13px sans-serif; display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start;";
  const controls = document.createElement("div");
  const chart = svg("svg", { width: 390, height: 230, role: "img", "aria-label": "class means as bars" });
  const readout = document.createElement("div");
  readout.style.cssText = "margin-top: 8px; line-height: 1.6;";
  const picker = document.createElement("select");
  picker.setAttribute("data-role", "preset");
  Object.keys(presets).forEach((name) => {
    const opt = document.createElement("option");
    opt.value = name; opt.textContent = name; picker.appendChild(opt);
  });
  const pickLabel = document.createElement("label");
  pickLabel.textContent = "preset: ";
  pickLabel.appendChild(picker);
  controls.appendChild(pickLabel);
  const head = document.createElement("div");
  head.style.cssText = "display: flex; gap: 6px; font-size: 11px; color: #555; margin-top: 6px;";
  head.innerHTML = "<span style='width: 80px'>class</span>" +
    "<span style='width: 129px'>mean response (slider)</span>" +
    "<span style='width: 44px; text-align: right'>raw</span>" +
    "<span style='width: 52px; text-align: right'>shifted</span>";
  controls.appendChild(head);
  const sliders = [], values = [], shiftedValues = [];
  classes.forEach((name, i) => {
    const row = document.createElement("div");
    row.style.cssText = "display: flex; gap: 6px; align-items: center;";
    const label = document.createElement("span");
    label.textContent = name; label.style.cssText = "width: 80px;";
    const s = document.createElement("input");
    s.type = "range"; s.min = "-0.5"; s.max = "1"; s.step = "0.01";
    s.setAttribute("data-role", "mean"); s.setAttribute("data-class", String(i));
    s.setAttribute("aria-label", "mean response to " + name);
    const v = document.createElement("span");
    v.setAttribute("data-role", "raw");
    v.style.cssText = "width: 44px; text-align: right; font-variant-numeric: tabular-nums;";
    const w = document.createElement("span");
    w.setAttribute("data-role", "shifted");
    w.style.cssText = "width: 52px; text-align: right; font-variant-numeric: tabular-nums; color: #555;";
    s.addEventListener("input", () => {
      const means = model.get("means").slice();
      means[i] = parseFloat(s.value);
      model.set("means", means);
      model.save_changes();
    });
    row.append(label, s, v, w);
    controls.appendChild(row);
    sliders.push(s); values.push(v); shiftedValues.push(w);
  });
  picker.addEventListener("change", () => {
    model.set("means", presets[picker.value].slice());
    model.save_changes();
  });
  const tips = document.createElement("ul");
  tips.style.cssText = "margin: 8px 0 0 0; padding-left: 18px; max-width: 380px; color: #333;";
  [
    "Pick <i>uniform</i>, then raise one class: the index climbs from 0 towards 1 as that class " +
      "pulls away from the rest.",
    "Pick <i>one class</i>, then raise a second class to the same height: the index falls from 1 " +
      "to 0.80, and no class is preferred.",
    "Pick <i>leaky (negative means)</i>: the index reads the means shifted up by the lowest one " +
      "(the shifted column), not the raw ones.",
  ].forEach((text) => {
    const li = document.createElement("li");
    li.innerHTML = "Try this: " + text;
    tips.appendChild(li);
  });
  const right = document.createElement("div");
  right.append(chart, readout, tips);
  root.append(controls, right);
  el.appendChild(root);

  function update() {
    const means = model.get("means");
    const r = selectivity(means, model.get("eps"));
    means.forEach((m, i) => {
      sliders[i].value = String(m);
      values[i].textContent = m.toFixed(2);
      shiftedValues[i].textContent = r.shift > 0 ? r.shifted[i].toFixed(2) : "";
    });
    drawChart(chart, classes, r);
    const preferred = r.tied.length === 1
      ? "<b>" + classes[r.k] + "</b>"
      : r.tied.length === classes.length ? "none: every class has the same mean"
      : "none: " + r.tied.map((i) => classes[i]).join(", ") + " tie for the largest mean";
    readout.innerHTML =
      "preferred class: <span data-role='preferred'>" + preferred + "</span><br>" +
      "&mu;<sub>max</sub> = <span data-role='mu-max'>" + r.muMax.toFixed(3) + "</span><br>" +
      "&mu;<sub>&minus;max</sub> = <span data-role='mu-rest'>" + r.muRest.toFixed(3) + "</span><br>" +
      "selectivity index = <b data-role='si'>" + r.si.toFixed(3) + "</b>" +
      (r.shift > 0 ? "<br><i>negative means: every mean shifted up by " + r.shift.toFixed(2) +
                     " (bars and &mu; show the shifted means)</i>" : "");
  }
  model.on("change:means", update);
  update();
}

export default { render };
"""

# Runs the module above in a static page: a minimal stand-in for the widget model (get/set/on/save_changes).
STATIC_SHIM = r"""
const state = JSON.parse(document.getElementById("%(id)s-state").textContent);
const listeners = {};
const model = {
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; (listeners["change:" + k] || []).forEach((f) => f()); },
  on: (ev, f) => { (listeners[ev] = listeners[ev] || []).push(f); },
  save_changes: () => {},
};
const url = URL.createObjectURL(new Blob([%(esm)s], { type: "text/javascript" }));
import(url).then((mod) => mod.default.render({ model, el: document.getElementById("%(id)s") }));
"""


def default_presets(real_unit: list[float] | None = None) -> dict[str, list[float]]:
    """Uniform, one class, sparse, leaky (negative means) and, if given, a real unit's class means."""
    presets = {
        "uniform": [0.5] * 10,
        "one class": [0.0] * 3 + [0.8] + [0.0] * 6,
        "sparse": [0.05, 0.0, 0.0, 0.6, 0.0, 0.45, 0.0, 0.02, 0.0, 0.0],
        "graded": [round(0.1 * k, 2) for k in range(1, 11)],
        "leaky (negative means)": [-0.3, -0.2, -0.25, 0.4, -0.3, -0.1, -0.2, -0.3, -0.25, -0.2],
    }
    if real_unit is not None:
        top = max(abs(v) for v in real_unit) or 1.0
        presets = {"real unit": [round(float(v) / top, 3) for v in real_unit]} | presets  # scale-free index
    return presets


class IndexExplorer(anywidget.AnyWidget):
    """Sliders for ten class-conditional means; shows mu_max, mu_-max, the index, the preferred class (none
    for a tie) and a bar chart of the means the index reads (with class names, an axis and lines at mu_max and
    mu_-max), the raw and the shifted means side by side, and three things to try."""

    _esm = ESM
    means = traitlets.List(traitlets.Float()).tag(sync=True)
    classes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    presets = traitlets.Dict().tag(sync=True)
    eps = traitlets.Float(EPS).tag(sync=True)

    def __init__(self, real_unit: list[float] | None = None, classes=CIFAR10_CLASSES, **kwargs):
        presets = default_presets(real_unit)
        super().__init__(means=next(iter(presets.values())), classes=list(classes), presets=presets, **kwargs)

    @property
    def si(self) -> float:
        """The index of the current means, computed by the library (the sliders compute the same in JS)."""
        return float(class_selectivity_index(torch.tensor([self.means], dtype=torch.float64))[0])

    def static_html(self) -> str:
        """A self-contained HTML version that works in a page with no kernel."""
        element = f"si-explorer-{uuid.uuid4().hex[:8]}"
        state = {"means": self.means, "classes": self.classes, "presets": self.presets, "eps": self.eps}
        script = STATIC_SHIM % {"id": element, "esm": json.dumps(ESM)}
        return (
            f'<div id="{element}" class="si-explorer-static"></div>\n'
            f'<script type="application/json" id="{element}-state">{html.escape(json.dumps(state), quote=False)}'
            f'</script>\n<script type="module">{script}</script>'
        )

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data or {})
        data["text/html"] = self.static_html()
        return data, metadata
