"""The Armada Si Lacak map: live truck positions (refreshed in place), today's tracks, stops, TPS/TPA visits
and the kelurahan served today. Reads the fleet engineer's tables, queries and detectors (ingestion.trips)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import folium
import psycopg
import shapely
from branca.element import MacroElement
from jinja2 import Template

from geo_api.db import fetch_all, fetch_one
from geo_api.settings import Settings
from maps.armada_replay import replay_control, scheduled_days, site_changes, thin
from maps.base import (
    PALETTE,
    BaseData,
    HtmlBox,
    MapOptions,
    base_map,
    esc,
    feature_collection,
    finish,
    js_value,
    legend_html,
)

SERVED = "#41ab5d"
STOP = "#555555"
SITE = {"TPS": "#8c510a", "TPA": "#b2182b"}
TRACK_SIMPLIFY_DEG = 0.00003  # ~3 m: a day of 5-second fixes shrinks a lot, the shape stays


@dataclass
class ArmadaData:
    """Everything the Armada map draws for one day (in the fleet's time zone)."""

    day: date
    live: list[dict[str, Any]]
    tracks: list[dict[str, Any]] = field(default_factory=list)
    stops: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    coverage: dict[str, dict[str, Any]] = field(default_factory=dict)
    sites_published: bool = False
    pickups: dict[str, str] = field(default_factory=dict)  # site nama -> pickup status of the day (jadwal)
    replay: dict[str, Any] | None = None  # a past day: tracks and TPS changes for maps/armada_replay.py
    live_day: bool = False  # the day is today (fleet time zone): the page follows the live stream
    attribution: list[str] = field(default_factory=list)


def _detection(settings: Settings):
    from ingestion.trips import DetectionConfig

    # the same parameters the fleet API uses for /fleet/vehicles/{id}/summary
    return DetectionConfig(stop_radius_m=settings.fleet_stop_radius_m,
                           stop_min_duration_s=settings.fleet_stop_min_duration_s,
                           split_gap_s=settings.fleet_split_gap_s,
                           min_trip_distance_m=settings.fleet_min_trip_distance_m,
                           min_trip_duration_s=settings.fleet_min_trip_duration_s,
                           dwell_s=settings.fleet_visit_dwell_s)


def _clock(epoch: float | None, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(epoch, tz=tz).strftime("%H:%M") if epoch is not None else "…"


async def load_armada(conn: psycopg.AsyncConnection, settings: Settings, day: date | None = None) -> ArmadaData:
    """Live positions, and per vehicle today's track, stops and site visits; kelurahan coverage of the day."""
    from ingestion import trips as det
    from ingestion.fleet_sites import load_sites

    tz = ZoneInfo(settings.fleet_timezone)
    d = day or datetime.now(tz).date()
    lo = datetime(d.year, d.month, d.day, tzinfo=tz)
    hi = lo + timedelta(days=1)
    data = ArmadaData(day=d, live=await fetch_all(conn, "fleet_live", {"since": None}))
    sites = await load_sites(conn, settings.fleet_sites_layer, settings.fleet_site_radius_tps_m,
                             settings.fleet_site_radius_tpa_m)
    data.sites_published = sites is not None
    if sites is not None:
        row = await fetch_one(conn, "maps_layer_attribution", {"id": settings.fleet_sites_layer})
        data.attribution = [row["attribution"]] if row and row["attribution"] else []
    data.sites = [{"nama": s.nama, "jenis": s.jenis, "lat": s.geom.centroid.y, "lon": s.geom.centroid.x}
                  for s in sites or []]
    cfg = _detection(settings)
    served: list[tuple[Any, Any]] = []  # (site, visit) of every truck, for the pickup status
    replay_tracks: list[dict[str, Any]] = []
    for v in await fetch_all(conn, "fleet_vehicles_list"):
        if not v["device_ids"]:
            continue
        rows = await fetch_all(conn, "fleet_fixes", {"device_ids": v["device_ids"], "lo": lo, "hi": hi})
        if not rows:
            continue
        tr = det.Track.from_rows([(r["t"], r["lat"], r["lon"]) for r in rows])
        parts = [list(shapely.LineString(p).simplify(TRACK_SIMPLIFY_DEG).coords)
                 for p in det.track_parts(tr, settings.fleet_track_gap_s) if len(p) >= 2]
        colour = PALETTE[v["id"] % len(PALETTE)]
        if parts:  # a day of single fixes between long gaps has no line to draw
            data.tracks.append({"vehicle_id": v["id"], "plat_nomor": v["plat_nomor"], "colour": colour,
                                "parts": [[(lat, lon) for lon, lat in p] for p in parts], "fixes": len(tr)})
        replay_tracks.append({"plat": v["plat_nomor"], "colour": colour, "fixes": thin(rows)})
        summary = det.summarise(tr, sites or [], cfg)
        data.stops += [{"plat_nomor": v["plat_nomor"], "lat": s.lat, "lon": s.lon, "mulai": _clock(s.start, tz),
                        "selesai": _clock(s.end, tz), "menit": round(s.duration / 60)} for s in summary.stops]
        data.visits += [{"plat_nomor": v["plat_nomor"], "nama": x.site.nama, "jenis": x.site.jenis,
                         "datang": _clock(x.arrival, tz), "pergi": _clock(x.departure, tz),
                         "menit": round(x.dwell / 60)} for x in summary.visits]
        served += [(x.site, x) for x in summary.visits]
    data.pickups = pickup_statuses(sites or [], served, d, tz)
    data.live_day = d == datetime.now(tz).date()
    if d < datetime.now(tz).date():  # a past day replays
        data.replay = {"tracks": replay_tracks, "sites": site_changes(sites or [], served, d, tz),
                       "start": lo.timestamp(), "end": hi.timestamp(), "offset_s": lo.utcoffset().total_seconds()}
    for r in await fetch_all(conn, "fleet_coverage", {"lo": lo, "hi": hi, "vehicle_id": None, "kode": None}):
        c = data.coverage.setdefault(r["kode"], {"plat": [], "terakhir": r["last_seen"]})
        c["plat"].append(r["plat_nomor"])
        c["terakhir"] = max(c["terakhir"], r["last_seen"])
    for c in data.coverage.values():
        c["terakhir"] = c["terakhir"].astimezone(tz).strftime("%H:%M")
    return data


class ArmadaLive(MacroElement):
    """Truck markers kept up to date by SP.armada (peta.js), which polls the fleet's /fleet/live GeoJSON."""

    _template = Template("""{% macro script(this, kwargs) %}
        SP.armada({{ this._parent.get_name() }}, {{ this.config }});
    {% endmacro %}""")

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self._name = "ArmadaLive"
        self.config = js_value(config)


STALE_S = 300  # a truck not heard from for five minutes is shown grey, with its age


def _live_feature(r: dict[str, Any]) -> dict[str, Any]:
    """The same shape as the fleet's /fleet/live features (the page treats both alike)."""
    props = {"vehicle_id": r["vehicle_id"], "plat_nomor": r["plat_nomor"], "jenis": r["jenis"],
             "speed_kmh": round(r["speed_kmh"], 1) if r["speed_kmh"] is not None else None,
             "age_s": round(r["age_s"], 1), "fix_time": r["last_fix_time"].isoformat()}
    return {"type": "Feature", "id": r["vehicle_id"], "properties": props,
            "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]}}


def _coverage_layer(m: folium.Map, base: BaseData, data: ArmadaData) -> None:
    rows = []
    for r in base.kelurahan:
        c = data.coverage.get(r["kode"])
        rows.append({**r, "dilayani": "ya" if c else "belum",
                     "truk": ", ".join(c["plat"]) if c else "-", "terakhir": c["terakhir"] if c else "-"})
    fc = feature_collection(rows, ("kode", "nama", "dilayani", "truk", "terakhir"))
    folium.GeoJson(fc, name="Kelurahan terlayani hari ini",
                   style_function=lambda f: {"color": "#6b6b6b", "weight": 0.6,
                                             "fillColor": SERVED if f["properties"]["dilayani"] == "ya" else "#fbfaf5",
                                             "fillOpacity": 0.45},
                   tooltip=folium.GeoJsonTooltip(["nama", "kode", "dilayani", "truk", "terakhir"],
                                                 aliases=["Kelurahan", "Kode", "Dilayani hari ini", "Truk",
                                                          "Terakhir dilewati"]),
                   ).add_to(m)


def _tracks_layer(m: folium.Map, data: ArmadaData) -> None:
    group = folium.FeatureGroup(name="Lintasan hari ini")
    for t in data.tracks:
        folium.PolyLine(t["parts"], color=t["colour"], weight=3, opacity=0.8, class_name="sp-track",
                        tooltip=esc(f"Lintasan {t['plat_nomor']} ({t['fixes']} titik GPS)")).add_to(group)
    group.add_to(m)
    stops = folium.FeatureGroup(name="Berhenti")
    for s in data.stops:
        folium.CircleMarker([s["lat"], s["lon"]], radius=4, color="#fff", weight=1, fill=True, fill_color=STOP,
                            fill_opacity=0.9, class_name="sp-stop",
                            tooltip=esc(f"{s['plat_nomor']} berhenti {s['mulai']}–{s['selesai']} ({s['menit']} menit)"),
                            ).add_to(stops)
    stops.add_to(m)


def site_name(s: dict[str, Any]) -> str:
    """'TPS Pasir Jaya', not 'TPS TPS Pasir Jaya': the kind is added only when the name lacks it."""
    nama, jenis = (s.get("nama") or "").strip(), (s.get("jenis") or "").strip()
    return nama if not jenis or nama.upper().startswith(jenis.upper()) else f"{jenis} {nama}"


PICKUP_COLOUR = {"tepat_waktu": "#1a9850", "terlambat": "#fd8d3c", "terlewat": "#e31a1c", "belum_waktunya": "#969696"}
PICKUP_TEXT = {"tepat_waktu": "diangkut tepat waktu", "terlambat": "diangkut terlambat",
               "terlewat": "TERLEWAT (belum diangkut)", "belum_waktunya": "belum waktunya"}


def pickup_statuses(sites: list[Any], served: list[tuple[Any, Any]], d: date, tz: ZoneInfo,
                    now: datetime | None = None) -> dict[str, str]:
    """Each scheduled site's pickup status on day d (ingestion.jadwal), by nama; a missed TPS is drawn red."""
    return {site.nama: st.status for site, st in scheduled_days(sites, served, d, tz, now or datetime.now(tz))}


def _site_colour(s: dict[str, Any], data: ArmadaData) -> str:
    status = data.pickups.get(s["nama"])
    return PICKUP_COLOUR[status] if status else SITE.get(s["jenis"][:3], SITE["TPS"])


def _sites_layer(m: folium.Map, data: ArmadaData) -> None:
    group = folium.FeatureGroup(name="TPS/TPA")
    for s in data.sites:
        seen = [v for v in data.visits if v["nama"] == s["nama"]]
        lines = "".join(f"<li>{esc(v['plat_nomor'])}: {esc(v['datang'])}–{esc(v['pergi'])} ({v['menit']} menit)</li>"
                        for v in seen) or "<li>Belum ada kunjungan hari ini</li>"
        status = data.pickups.get(s["nama"])
        state = (f"<p class='sp-angkut'>Pengangkutan: <b>{esc(PICKUP_TEXT[status])}</b></p>" if status
                 else "<p class='sp-angkut' hidden></p>")
        popup = f"<div class='sp-popup'><h3>{esc(site_name(s))}</h3>{state}<ul>{lines}</ul></div>"
        colour = _site_colour(s, data)
        folium.Marker([s["lat"], s["lon"]], popup=folium.Popup(popup, max_width=300),
                      tooltip=esc(f"{site_name(s)} · {len(seen)} kunjungan hari ini"
                                  + (f" · {PICKUP_TEXT[status]}" if status else "")),
                      icon=folium.DivIcon(class_name="sp-site", icon_size=(14, 14), icon_anchor=(7, 7),
                                          html=f'<span style="background:{colour}"></span>'),
                      sp_tps=s["nama"],  # SP.armada finds the marker by it when the stream says terlewat
                      ).add_to(group)
    group.add_to(m)


def pickup_legend(data: ArmadaData) -> list[tuple[str, str]]:
    """Legend rows for the TPS pickup colours, with today's counts (only when some TPS has a jadwal)."""
    if not data.pickups:
        return []
    n = {k: sum(1 for v in data.pickups.values() if v == k) for k in PICKUP_COLOUR}
    return [(PICKUP_COLOUR[k], f"{legend_label(k)} ({n[k]})") for k in PICKUP_COLOUR]


def legend_label(status: str) -> str:
    """'TPS terlewat': a pickup status's legend row without its count (SP.terlewatStream recounts it)."""
    return f"TPS {PICKUP_TEXT[status].split(' (')[0].lower()}"


def build_armada_map(base: BaseData, data: ArmadaData, opts: MapOptions, refresh_s: float) -> str:
    """The page: coverage, tracks, stops, sites with visits, and live trucks refreshed without a reload."""
    served = len(data.coverage)
    m = base_map(base, opts, title="Armada Si Lacak",
                 subtitle=f"{data.day:%d-%m-%Y} · {len(data.live)} truk · {served} kelurahan terlayani hari ini",
                 links=[("/peta", "Daftar peta")] if opts.api_base else [])
    _coverage_layer(m, base, data)
    _tracks_layer(m, data)
    _sites_layer(m, data)
    m.add_child(ArmadaLive({"features": [_live_feature(r) for r in data.live],
                            "api": "/fleet/live" if opts.api_base else None,
                            "refreshMs": int(refresh_s * 1000), "staleS": STALE_S,
                            # today's live page listens to the stream's terlewat events: a TPS whose window ends
                            # without a visit turns red without a reload (a replayed day does not)
                            "stream": "/fleet/live/stream?posisi=false" if opts.api_base and data.live_day else None,
                            "day": data.day.isoformat(), "terlewat": {"colour": PICKUP_COLOUR["terlewat"],
                                                                      "text": PICKUP_TEXT["terlewat"],
                                                                      "from": PICKUP_COLOUR["belum_waktunya"],
                                                                      "all": list(PICKUP_TEXT.values()),
                                                                      "legend": {PICKUP_COLOUR[k]: legend_label(k)
                                                                                 for k in PICKUP_COLOUR}},
                            "visits": [{"plat": v["plat_nomor"], "nama": site_name(v), "datang": str(v["datang"]),
                                        "pergi": str(v["pergi"])} for v in data.visits]}))
    items = [("#1f4e79", "Truk (posisi terkini)"), ("#9a9a9a", f"Truk tanpa posisi > {STALE_S // 60} menit"),
             ("#7f7f7f", "Lintasan hari ini (warna per truk)"),
             (STOP, "Berhenti"), (SITE["TPS"], "TPS"), (SITE["TPA"], "TPA"), (SERVED, "Kelurahan terlayani hari ini")]
    items += pickup_legend(data)
    if data.replay is not None:
        m.add_child(replay_control(**data.replay, colours=PICKUP_COLOUR))
    notes = [f"Posisi diperbarui otomatis tiap {refresh_s:g} detik." if opts.api_base
             else "Salinan statis: posisi pada saat peta dibuat."]
    if not data.sites_published:
        notes.append("Lapisan TPS/TPA belum diterbitkan: kunjungan belum dapat dihitung.")
    m.get_root().html.add_child(HtmlBox(legend_html("Legenda", items, notes)))
    m.get_root().html.add_child(HtmlBox('<div id="status-armada" class="sp-box sp-status">Memuat posisi…</div>'))
    return finish(m, base, opts, extra_attribution=data.attribution)
