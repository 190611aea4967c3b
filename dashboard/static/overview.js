// Keeps the overview current without reloading: listens to /api/rooms/stream (and polls
// /api/ingest) and updates the server-rendered tiles through textContent, classList and
// createElement only; filters and sorts the tiles in place. Nothing
// from the server is ever parsed as markup, so a room name or a payload cannot become HTML.
// The formatting mirrors dashboard/present.py.
"use strict";

(() => {
  const INGEST_POLL_MS = 5000;
  const PAYLOAD_LIMIT = 160;
  const RECENT_QUARANTINE = 5;
  const DASH = "\u2013";
  // Where this site's dashboard is mounted: "" alone, "/sites/<slug>" beside other sites.
  const BASE = document.querySelector('meta[name="ventwatch-base"]').content;

  const bands = JSON.parse(document.getElementById("bands").textContent);
  const tiles = new Map();
  for (const tile of document.querySelectorAll(".tile[data-room]")) {
    tiles.set(tile.dataset.room, tile); // a Map, not a selector: any room name is safe
  }
  // The page's language (dashboard/dates.py sets it): times read as the server writes them.
  const clock = new Intl.DateTimeFormat(document.documentElement.lang || "en-GB", {
    timeZone: document.body.dataset.tz,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  let lastOk = null;

  const field = (root, name) => root.querySelector(`[data-field="${name}"]`);
  const setText = (root, name, text) => {
    const el = field(root, name);
    if (el) el.textContent = text;
  };
  const quantity = (value, unit, digits = 0) =>
    value === null || value === undefined ? DASH : `${value.toFixed(digits)}\u00A0${unit}`;

  function ago(ageS) {
    if (ageS === null || ageS === undefined) return "never";
    const s = Math.max(0, Math.floor(ageS));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 48 * 3600) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} days ago`;
  }

  function bandStyle(band) {
    return bands[band] || ["\u25CF", band.replace(/-/g, " ")];
  }

  function setBand(el, band) {
    for (const cls of [...el.classList]) if (cls.startsWith("band-")) el.classList.remove(cls);
    el.classList.add(`band-${band.replace(/[^A-Za-z0-9_-]/g, "")}`);
  }

  function cell(text, tag = "td") {
    const el = document.createElement(tag);
    el.textContent = text;
    return el;
  }

  function showRooms(data) {
    for (const room of data.rooms) {
      const tile = tiles.get(room.room);
      if (!tile) continue; // a room added to the site file shows after a reload
      const [icon, title] = bandStyle(room.band);
      setBand(tile, room.band);
      setText(tile, "icon", icon);
      setText(tile, "title", title);
      setText(tile, "label", room.label);
      setText(tile, "today", room.today);
      setText(tile, "co2", quantity(room.co2_ppm, "ppm"));
      setText(tile, "temperature", quantity(room.temperature_c, "\u00B0C", 1));
      setText(tile, "humidity", quantity(room.humidity_pct, "%"));
      const age = field(tile, "age");
      age.textContent = ago(room.age_s);
      if (room.time) age.setAttribute("datetime", room.time);
      else age.removeAttribute("datetime");
    }
    for (const chip of document.querySelectorAll("[data-summary]")) {
      const n = data.summary[chip.dataset.summary] || 0;
      setText(chip, "count", String(n));
      chip.hidden = n === 0 && chip.dataset.optional === "true";
    }
    const updated = field(document, "updated");
    updated.textContent = clock.format(new Date(data.generated_at));
    updated.setAttribute("datetime", data.generated_at);
  }

  // The same words as the server's `store_text` filter (dashboard/present.py).
  function storeText(store) {
    const last = store.last_write ? clock.format(new Date(store.last_write)) : "none yet";
    let text = store.ok ? `writing (last write ${last})` : `NOT WRITING: ${store.error} (last write ${last})`;
    if (store.spool_pending > 0) {
      text += `; ${store.spool_pending} readings spooled on disk (${(store.spool_bytes / 1048576).toFixed(1)} MB)`;
    }
    if (store.spool_full) text += "; SPOOL FULL: new messages are held at the broker";
    return text;
  }

  function showIngest(stats) {
    const panel = document.getElementById("ingest");
    if (!panel) return;
    setText(panel, "connected", stats.connected ? "connected" : "not connected");
    const takeover = field(panel, "takeover");
    if (takeover && stats.mqtt_session) {
      takeover.textContent = stats.mqtt_session.warning || "";
      takeover.hidden = !stats.mqtt_session.warning;
    }
    if (stats.store) setText(panel, "store", storeText(stats.store));
    const counts = Object.entries(stats.counts || {}).map(([outcome, n]) => {
      const row = document.createElement("div");
      row.append(cell(outcome.replace(/_/g, " "), "dt"), cell(String(n), "dd"));
      return row;
    });
    field(panel, "counts").replaceChildren(...counts);
    const recent = (stats.quarantine || []).slice(0, RECENT_QUARANTINE).map((q) => {
      const row = document.createElement("tr");
      const code = document.createElement("code");
      const payload = q.payload || "";
      code.textContent =
        payload.length <= PAYLOAD_LIMIT ? payload : `${payload.slice(0, PAYLOAD_LIMIT - 1)}\u2026`;
      const payloadCell = document.createElement("td");
      payloadCell.append(code);
      row.append(cell(clock.format(new Date(q.time))), cell(q.topic || ""), cell(q.reason || ""));
      row.append(payloadCell);
      return row;
    });
    if (recent.length === 0) {
      const row = document.createElement("tr");
      const empty = cell("Nothing quarantined.");
      empty.colSpan = 4;
      row.append(empty);
      recent.push(row);
    }
    field(panel, "quarantine").replaceChildren(...recent);
  }

  async function getJSON(url) {
    const response = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      // The session ended (signed out elsewhere, expired): back to the login page.
      window.location.assign(`${BASE}/login?next=${encodeURIComponent(window.location.pathname)}`);
    }
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  // -- filters and order -------------------------------------------------------------
  // The choice lives in the address (?building=&status=&sort=), so a filtered view can be
  // bookmarked or shared; the server ignores those parameters and always sends every room.
  // The band chips are toggles for the status filter: pressed, only that band shows.
  const view = document.getElementById("view");
  const chips = [...document.querySelectorAll("button[data-chip]")];
  // The order can be this browser's default: kept in localStorage, so it stays on the device
  // and needs no account setting. An address that names the order (?sort=worst) shows it
  // whatever the default, so a shared link shows what its sender saw.
  const SORT_KEY = "ventwatch:overview-sort";
  const severity = JSON.parse(view.dataset.severity);
  const worstList = document.getElementById("worst-first");
  const home = new Map(); // tile -> its floor list, to put it back after "worst first"
  const order = [...tiles.values()];
  for (const tile of order) home.set(tile, tile.parentElement);

  function bandOf(tile) {
    const cls = [...tile.classList].find((c) => c.startsWith("band-"));
    return cls ? cls.slice(5) : "";
  }

  function co2Of(tile) {
    const value = parseFloat(field(tile, "co2").textContent);
    return Number.isNaN(value) ? -1 : value;
  }

  function matches(tile, building, status) {
    if (building && tile.dataset.building !== building) return false;
    if (status === "attention") return bandOf(tile) !== severity[severity.length - 1];
    return !status || bandOf(tile) === status;
  }

  function applyView() {
    const building = view.elements.building.value;
    const status = view.elements.status.value;
    const worst = view.elements.sort.value === "worst";
    let shown = 0;
    for (const tile of order) {
      tile.hidden = !matches(tile, building, status);
      if (!tile.hidden) shown += 1;
    }
    if (worst) {
      const rank = (tile) => {
        const i = severity.indexOf(bandOf(tile));
        return i === -1 ? severity.length : i;
      };
      const sorted = [...order].sort((a, b) => rank(a) - rank(b) || co2Of(b) - co2Of(a));
      worstList.replaceChildren(...sorted);
    } else if (worstList.childElementCount) {
      for (const tile of order) home.get(tile).append(tile); // original order, original floor
    }
    worstList.hidden = !worst;
    for (const list of home.values()) {
      const empty = worst || ![...list.children].some((tile) => !tile.hidden);
      list.hidden = empty;
      if (list.previousElementSibling) list.previousElementSibling.hidden = empty;
    }
    for (const section of document.querySelectorAll("section.building")) {
      section.hidden = worst || ![...section.querySelectorAll(".tile")].some((t) => !t.hidden);
    }
    for (const chip of chips) chip.setAttribute("aria-pressed", String(chip.dataset.chip === status));
    setText(view, "shown", `Showing ${shown} of ${order.length} rooms.`);
  }

  function savedSort() {
    try {
      return window.localStorage.getItem(SORT_KEY);
    } catch (error) {
      return null; // storage refused (a private window, a locked-down profile)
    }
  }

  function saveSort(value) {
    try {
      if (value === null) window.localStorage.removeItem(SORT_KEY);
      else window.localStorage.setItem(SORT_KEY, value);
    } catch (error) {
      // storage refused: the choice lasts as long as this page
    }
  }

  function setParam(name, value) {
    const next = new URLSearchParams(window.location.search);
    if (value) next.set(name, value);
    else next.delete(name);
    const query = next.toString();
    window.history.replaceState(null, "", query ? `?${query}` : window.location.pathname);
  }

  function setupView() {
    const params = new URLSearchParams(window.location.search);
    const remember = view.elements.remember;
    const saved = savedSort();
    remember.checked = saved !== null;
    for (const name of ["building", "status", "sort"]) {
      const select = view.elements[name];
      const wanted = params.get(name) || (name === "sort" ? saved : null);
      if (wanted && [...select.options].some((o) => o.value === wanted)) select.value = wanted;
      select.addEventListener("change", () => {
        setParam(name, select.value);
        if (name === "sort" && remember.checked) saveSort(select.value);
        applyView();
      });
    }
    remember.addEventListener("change", () => {
      saveSort(remember.checked ? view.elements.sort.value : null);
    });
    for (const chip of chips) {
      chip.addEventListener("click", () => {
        const status = view.elements.status;
        status.value = status.value === chip.dataset.chip ? "" : chip.dataset.chip;
        setParam("status", status.value);
        applyView();
      });
    }
    view.hidden = false; // without this script the page shows every room, unfiltered
    applyView();
  }

  function connected() {
    lastOk = new Date();
    document.body.classList.remove("offline");
    setText(document, "connection", "");
  }

  function disconnected() {
    // Keep the last values but say plainly that they are not current.
    document.body.classList.add("offline");
    const since = lastOk ? ` since ${clock.format(lastOk)}` : "";
    setText(document, "connection", `Cannot reach the server${since}: values may be out of date.`);
  }

  // Rooms arrive as server-sent events (routes/live.py) the moment a reading changes them.
  // EventSource reconnects by itself; when it fails, one plain request tells a lost
  // connection (say so) from an ended session (back to the login page).
  function listen() {
    const source = new EventSource(`${BASE}/api/rooms/stream`);
    source.addEventListener("rooms", (event) => {
      showRooms(JSON.parse(event.data));
      applyView();
      connected();
    });
    source.addEventListener("error", async () => {
      try {
        await getJSON(`${BASE}/api/rooms`);
      } catch (error) {
        disconnected();
      }
    });
  }

  // Ingest health is for managers only and changes slowly: a plain poll.
  async function pollIngest() {
    if (!document.getElementById("ingest") || document.hidden) return;
    try {
      showIngest(await getJSON(`${BASE}/api/ingest`));
    } catch (error) {
      disconnected();
    }
  }

  setupView();
  listen();
  setInterval(pollIngest, INGEST_POLL_MS);
})();
