// Draws the room page's charts: the figures (data, bands, occupied hours) are built by the
// server (dashboard/charts.py) and embedded as JSON; this only hands them to Plotly.
"use strict";

(() => {
  const CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };

  function draw(id, figureId) {
    const target = document.getElementById(id);
    const source = document.getElementById(figureId);
    if (!target || !source || !window.Plotly) return;
    const figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(target, figure.data, figure.layout, CONFIG);
  }

  draw("co2-chart", "co2-figure");
  draw("temperature-chart", "temperature-figure");
})();
