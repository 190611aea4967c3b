// Keeps the site list current without reloading: asks /api/sites every few seconds and
// updates each site's row (band chips, rooms needing attention, open alerts, when it was
// counted) and the totals through textContent and createElement only, so a site or band
// name can never become HTML.
"use strict";

(() => {
  const POLL_MS = 5000;
  const bands = JSON.parse(document.getElementById("bands").textContent);
  const rows = new Map();
  for (const row of document.querySelectorAll("tr[data-site]")) rows.set(row.dataset.site, row);
  const field = (root, name) => root.querySelector(`[data-field="${name}"]`);

  function chips(list, summary) {
    const items = [];
    for (const [band, n] of Object.entries(summary)) {
      if (!n) continue;
      const [icon, title] = bands[band] || ["\u25CF", band.replace(/-/g, " ")];
      const li = document.createElement("li");
      li.className = `chip band-${band.replace(/[^A-Za-z0-9_-]/g, "")}`;
      li.dataset.summary = band;
      const symbol = document.createElement("span");
      symbol.className = "icon";
      symbol.setAttribute("aria-hidden", "true");
      symbol.textContent = icon;
      li.append(symbol, ` ${n} ${title}`);
      items.push(li);
    }
    list.replaceChildren(...items);
  }

  // As present.ago and present.counted say it on the server.
  function ago(ageS) {
    const s = Math.max(0, Math.floor(ageS));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 48 * 3600) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} days ago`;
  }

  function counted(ageS, stale) {
    if (ageS === null) return "not counted yet";
    return `${stale ? "stale: " : ""}counted ${ago(ageS)}`;
  }

  function show(sites) {
    const totals = {};
    let rooms = 0;
    let attention = 0;
    for (const site of sites) {
      rooms += site.rooms;
      attention += site.attention;
      for (const [band, n] of Object.entries(site.summary)) totals[band] = (totals[band] || 0) + n;
      const row = rows.get(site.site);
      if (!row) continue; // a site added since the page was made shows after a reload
      chips(field(row, "bands"), site.summary);
      field(row, "attention").textContent = String(site.attention);
      field(row, "alerts").textContent = site.open_alerts === null ? "\u2013" : String(site.open_alerts);
      field(row, "counted").textContent = counted(site.age_s, site.stale);
      row.classList.toggle("stale", site.stale);
    }
    chips(document.getElementById("totals"), totals);
    field(document, "rooms").textContent = String(rooms);
    field(document, "attention").textContent = String(attention);
  }

  async function poll() {
    try {
      const response = await fetch("/api/sites", { cache: "no-store", headers: { Accept: "application/json" } });
      if (response.status === 401) {
        window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
        return;
      }
      if (response.ok) show(await response.json());
    } finally {
      window.setTimeout(poll, POLL_MS);
    }
  }
  window.setTimeout(poll, POLL_MS);
})();
