// Frontdesk console: draws each chart from the page's JSON (a data attribute) (the same figures are in the
// table under it). No inline scripts: the Content-Security-Policy allows only this origin.
"use strict";

const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"];
// Labels whose colour carries meaning keep it in every chart.
const MEANING = { negative: "#dc2626", neutral: "#6b7280", positive: "#16a34a", met: "#16a34a", breached: "#dc2626" };

function drawCharts(root) {
  const block = root.querySelector("#chart-data");
  if (!block || typeof Chart === "undefined") {
    delete document.body.dataset.chartsDrawn;
    return;
  }
  const charts = JSON.parse(block.dataset.charts);
  root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    const spec = charts[canvas.dataset.chart];
    if (!spec) return;
    const existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    spec.datasets.forEach((d, i) => {
      const colour = MEANING[d.label] || PALETTE[i % PALETTE.length];
      d.borderColor = colour;
      d.backgroundColor = colour;
      d.tension = 0.2;
      d.pointRadius = 0;
    });
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: spec.datasets.length > 1 } },
      },
    });
  });
  document.body.dataset.chartsDrawn = "1";
}

// On the first load and after every htmx swap (links and forms are boosted: the page's body is
// replaced in place), draw the charts of the new content. htmx binds the new content's triggers
// (the ticket search's as-you-type) only when the swap settles, after the content shows:
// data-settled says they are bound, for scripts and tests that type into a page just opened.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof htmx === "undefined") {
    drawCharts(document);
    return;
  }
  document.addEventListener("htmx:beforeSwap", () => delete document.body.dataset.settled);
  htmx.onLoad(() => {
    drawCharts(document);
    document.body.dataset.settled = "1";
  });
});
