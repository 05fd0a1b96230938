// Traffic over time: the core's traffic buckets drawn as a small SVG chart, messages/s
// and bytes/s per direction (two panels, a line per direction). A classic script.
"use strict";

(function (page) {
  const { el } = page.render;
  const NS = "http://www.w3.org/2000/svg";
  const W = 480;
  const H = 90;
  const COLORS = ["#2a6fdb", "#c2462b"];

  function svg(tag, attrs = {}, ...children) {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    n.append(...children);
    return n;
  }

  /** One panel: a polyline per direction of `values[dir][bucket]`, scaled to its peak. */
  function panel(title, values, unit) {
    const peak = Math.max(1e-9, ...values.flat());
    const n = Math.max(1, values[0].length - 1);
    const lines = values.map((vs, d) =>
      svg("polyline", {
        fill: "none",
        stroke: COLORS[d],
        "stroke-width": 1.5,
        class: `chart-${d === 0 ? "c2s" : "s2c"}`,
        points: vs.map((v, i) => `${((i / n) * W).toFixed(1)},${(H - (v / peak) * (H - 4)).toFixed(1)}`).join(" "),
      }),
    );
    return svg(
      "svg",
      { viewBox: `0 0 ${W} ${H + 14}`, width: W, height: H + 14, role: "img", "aria-label": `${title}, peak ${peak.toFixed(1)} ${unit}` },
      svg("title", {}, title),
      svg("line", { x1: 0, y1: H, x2: W, y2: H, stroke: "currentColor", "stroke-width": 0.5 }),
      ...lines,
      svg("text", { x: 2, y: H + 12, "font-size": 10, fill: "currentColor" }, `${title}: peak ${peak.toFixed(1)} ${unit}`),
    );
  }

  /** Draws `traffic` (the core's Traffic) into `out`. */
  function draw(out, traffic) {
    out.append(el("h3", {}, "Traffic over time"));
    const b = traffic.buckets;
    if (b.length < 2) {
      out.append(el("p", { class: "help" }, "Too little time covered for a chart."));
      return;
    }
    const perSec = 1000 / traffic.bucketMs;
    out.append(
      panel("messages/s", [b.map((x) => x.c2sMessages * perSec), b.map((x) => x.s2cMessages * perSec)], "msg/s"),
      panel("bytes/s", [b.map((x) => x.c2sBytes * perSec), b.map((x) => x.s2cBytes * perSec)], "B/s"),
      el("p", { class: "help" }, `Buckets of ${traffic.bucketMs} ms; blue client → server, red server → client.`),
    );
  }

  page.chart = { draw };
})((self.framewirePage ??= {}));
