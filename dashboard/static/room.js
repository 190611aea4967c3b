// Draws the room page's charts: the figures (data, bands, occupied hours) are built by the
// server (dashboard/charts.py) and embedded as JSON; this only hands them to Plotly, with the
// locale the server names (dashboard/dates.py) so the axes write dates as the page does.
"use strict";

(() => {
  const CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };

  function draw(id, figureId) {
    const target = document.getElementById(id);
    const source = document.getElementById(figureId);
    if (!target || !source || !window.Plotly) return;
    const figure = JSON.parse(source.textContent);
    const config = { ...CONFIG };
    if (figure.locale) {
      window.Plotly.register(figure.locale);
      config.locale = figure.locale.name;
    }
    window.Plotly.newPlot(target, figure.data, figure.layout, config);
  }

  draw("co2-chart", "co2-figure");
  draw("temperature-chart", "temperature-figure");
})();
