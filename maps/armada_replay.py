"""Replay of a past day on the Armada map (/peta/armada?tanggal=): a time slider and a play button; trucks move
along their tracks and each scheduled TPS changes colour when it is served (green, orange when late) or missed
(red, when its window ends without a visit). Plain Leaflet calls on the folium map; no external assets."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from branca.element import MacroElement
from jinja2 import Template

from maps.base import js_value

REPLAY_STEP_S = 30.0  # one position per half minute is smooth enough on a city map and keeps the page small


def thin(rows: list[dict[str, Any]], step_s: float = REPLAY_STEP_S) -> list[list[float]]:
    """The fixes as [t, lat, lon] at most one per step_s."""
    out: list[list[float]] = []
    for r in rows:
        if not out or r["t"] - out[-1][0] >= step_s:
            out.append([round(r["t"]), round(r["lat"], 6), round(r["lon"], 6)])
    return out


def scheduled_days(sites: list[Any], served: list[tuple[Any, Any]], d: Any, tz: ZoneInfo,
                   now: datetime | None = None) -> list[tuple[Any, Any]]:
    """Each site with a `jadwal` scheduled on day d and its status (ingestion.jadwal.day_status) from the visits
    in `served` ((site, visit) pairs), judged at `now` (None: once the day's visits are all in, as for a replay).
    The one place the Armada map and its replay decide a TPS's colour."""
    from geo_api.fleet.pickups import scheduled
    from ingestion import jadwal as jd

    out = []
    for s in scheduled(sites):
        visits = [jd.Pickup(0, "", v.arrival, v.departure) for site, v in served if site.fid == s.site.fid]
        st = jd.day_status(s.jadwal, d, tz, visits, now or jd.visit_span(s.jadwal, d, tz)[1])
        if st is not None:
            out.append((s.site, st))
    return out


def site_changes(sites: list[Any], served: list[tuple[Any, Any]], d: Any, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Per scheduled site: its point and the moments its status changes (pickup arrival, or window end)."""
    out = []
    for site, st in scheduled_days(sites, served, d, tz):
        changes = [[round(w.pickup.arrival if w.pickup is not None else w.end.timestamp()), w.status]
                   for w in st.windows]
        c = site.geom.centroid
        out.append({"nama": site.nama, "lat": c.y, "lon": c.x, "changes": sorted(changes)})
    return out


class ArmadaReplay(MacroElement):
    """The replay control: slider over the day, play/pause, moving trucks and TPS colours by time."""

    _template = Template("""{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }}, cfg = {{ this.config }};
  var colours = cfg.colours, trucks = [], sites = [];
  // above the folium TPS icons (marker pane, z 600), so the replay's colours are the ones seen
  map.createPane('spReplay').style.zIndex = 650;
  cfg.tracks.forEach(function (tr) {
    if (!tr.fixes.length) return;
    var m = L.circleMarker([tr.fixes[0][1], tr.fixes[0][2]], {radius: 7, color: '#fff', weight: 2,
      fillColor: tr.colour, fillOpacity: 1, className: 'sp-replay-truck', pane: 'spReplay'})
      .bindTooltip(tr.plat).addTo(map);
    trucks.push({m: m, f: tr.fixes});
  });
  cfg.sites.forEach(function (s) {
    var m = L.circleMarker([s.lat, s.lon], {radius: 8, color: '#333', weight: 1, fillColor: colours.belum,
      fillOpacity: 1, className: 'sp-replay-site', pane: 'spReplay'}).bindTooltip(s.nama).addTo(map);
    sites.push({m: m, c: s.changes});
  });
  function at(f, t) {
    if (t <= f[0][0]) return f[0];
    for (var i = 1; i < f.length; i++) {
      if (f[i][0] >= t) {
        var a = f[i - 1], b = f[i], k = (t - a[0]) / Math.max(1, b[0] - a[0]);
        return [t, a[1] + (b[1] - a[1]) * k, a[2] + (b[2] - a[2]) * k];
      }
    }
    return f[f.length - 1];
  }
  var box = L.control({position: 'bottomleft'});
  box.onAdd = function () {
    var d = L.DomUtil.create('div', 'sp-box sp-replay');
    // a Leaflet control in the corner's flow (sp-box alone is position: fixed, which left it at the page's bottom
    // under a phone's attribution and on the scale bar), stacked above the scale, the status box and the legend
    d.style.setProperty('position', 'relative', 'important');
    d.style.setProperty('margin-bottom', '72px', 'important');
    d.style.setProperty('white-space', 'nowrap');
    d.innerHTML = '<button type="button" id="sp-replay-play" aria-label="Putar ulang">&#9654; Putar</button> ' +
      '<input type="range" id="sp-replay-slider" min="' + cfg.start + '" max="' + cfg.end + '" step="60" value="' +
      cfg.start + '" aria-label="Waktu putar ulang"> <span id="sp-replay-clock"></span>';
    L.DomEvent.disableClickPropagation(d);
    return d;
  };
  box.addTo(map);
  var slider = document.getElementById('sp-replay-slider'), clock = document.getElementById('sp-replay-clock');
  var play = document.getElementById('sp-replay-play'), timer = null;
  function show(t) {
    trucks.forEach(function (tr) { var p = at(tr.f, t); tr.m.setLatLng([p[1], p[2]]); });
    sites.forEach(function (s) {
      var st = 'belum';
      s.c.forEach(function (c) { if (c[0] <= t) st = c[1]; });
      s.m.setStyle({fillColor: colours[st] || colours.belum});
    });
    var d = new Date((t + cfg.offset) * 1000);
    clock.textContent = ('0' + d.getUTCHours()).slice(-2) + ':' + ('0' + d.getUTCMinutes()).slice(-2) + ' WIB';
    slider.value = t;
  }
  slider.addEventListener('input', function () { show(+slider.value); });
  play.addEventListener('click', function () {
    if (timer) { clearInterval(timer); timer = null; play.innerHTML = '&#9654; Putar'; return; }
    play.innerHTML = '&#10074;&#10074; Jeda';
    timer = setInterval(function () {
      var t = +slider.value + cfg.speed;
      if (t >= cfg.end) { t = cfg.end; clearInterval(timer); timer = null; play.innerHTML = '&#9654; Putar'; }
      show(t);
    }, 200);
  });
  show(cfg.start);
})();
{% endmacro %}""")

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self._name = "ArmadaReplay"
        self.config = js_value(config)


def replay_control(tracks: list[dict[str, Any]], sites: list[dict[str, Any]], start: float, end: float,
                   offset_s: float, colours: dict[str, str]) -> ArmadaReplay:
    """The control for a day [start, end) (epoch s); offset_s is the zone's UTC offset for the clock."""
    return ArmadaReplay({"tracks": tracks, "sites": sites, "start": round(start), "end": round(end),
                         "offset": offset_s, "speed": 300, "colours": {
                             "belum": colours["belum_waktunya"], "tepat_waktu": colours["tepat_waktu"],
                             "terlambat": colours["terlambat"], "terlewat": colours["terlewat"]}})
