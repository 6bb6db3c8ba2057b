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
function selectivity(means, eps) {
  const lowest = Math.min(...means);
  const m = lowest < 0 ? means.map((v) => v - lowest) : means;
  let k = 0;
  m.forEach((v, i) => { if (v > m[k]) k = i; });
  const rest = (m.reduce((a, b) => a + b, 0) - m[k]) / (m.length - 1);
  return { k, muMax: m[k], muRest: rest, si: (m[k] - rest) / (m[k] + rest + eps) };
}

function render({ model, el }) {
  const classes = model.get("classes");
  const presets = model.get("presets");
  const root = document.createElement("div");
  root.className = "si-explorer";
  root.style.cssText = "font: 13px sans-serif; display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start;";
  const controls = document.createElement("div");
  const chart = document.createElement("div");
  chart.style.cssText = "display: flex; align-items: flex-end; gap: 4px; height: 160px; padding: 4px; " +
    "border-bottom: 1px solid #888; border-left: 1px solid #888;";
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
  const sliders = [], values = [], bars = [];
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
    v.style.cssText = "width: 40px; text-align: right; font-variant-numeric: tabular-nums;";
    s.addEventListener("input", () => {
      const means = model.get("means").slice();
      means[i] = parseFloat(s.value);
      model.set("means", means);
      model.save_changes();
    });
    row.append(label, s, v);
    controls.appendChild(row);
    sliders.push(s); values.push(v);
    const bar = document.createElement("div");
    bar.title = name;
    bar.style.cssText = "width: 18px; background: #9ecae1;";
    chart.appendChild(bar);
    bars.push(bar);
  });
  picker.addEventListener("change", () => {
    model.set("means", presets[picker.value].slice());
    model.save_changes();
  });
  const right = document.createElement("div");
  right.append(chart, readout);
  root.append(controls, right);
  el.appendChild(root);

  function update() {
    const means = model.get("means");
    const r = selectivity(means, model.get("eps"));
    const top = Math.max(1e-9, ...means.map(Math.abs));
    means.forEach((m, i) => {
      sliders[i].value = String(m);
      values[i].textContent = m.toFixed(2);
      bars[i].style.height = (150 * Math.max(0, m) / top).toFixed(1) + "px";
      bars[i].style.background = i === r.k ? "#08519c" : "#9ecae1";
    });
    readout.innerHTML =
      "preferred class: <b>" + classes[r.k] + "</b><br>" +
      "&mu;<sub>max</sub> = <span data-role='mu-max'>" + r.muMax.toFixed(3) + "</span><br>" +
      "&mu;<sub>&minus;max</sub> = <span data-role='mu-rest'>" + r.muRest.toFixed(3) + "</span><br>" +
      "selectivity index = <b data-role='si'>" + r.si.toFixed(3) + "</b>" +
      (Math.min(...means) < 0 ? "<br><i>negative means: shifted up by the lowest one</i>" : "");
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
    """Sliders for ten class-conditional means; shows mu_max, mu_-max, the index and a bar chart."""

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
