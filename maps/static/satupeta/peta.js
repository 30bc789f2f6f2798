/* Satu Peta map pages: escaping, and the live parts (reports fetched by view, fleet refresh).
   Every text that comes from data reaches the page through SP.esc, never raw. */
(function () {
  "use strict";
  var SP = window.SP = window.SP || {};
  SP.stats = {};
  SP.esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  };
  SP.num = function (n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "."); };
  SP.ready = false;
  // Leaflet's own controls in Bahasa Indonesia (set before any map is made: peta.js loads after leaflet.js)
  if (window.L) {
    L.Control.Zoom.prototype.options.zoomInTitle = "Perbesar";
    L.Control.Zoom.prototype.options.zoomOutTitle = "Perkecil";
    var initLayout = L.Control.Layers.prototype._initLayout;
    L.Control.Layers.prototype._initLayout = function () {
      initLayout.call(this);
      var t = this._layersLink;
      if (t) { t.title = "Lapisan"; t.setAttribute("aria-label", "Lapisan peta"); }
    };
  }
  window.addEventListener("load", function () { SP.ready = true; });
  /* Phones (below 600 px): the filter and the legend fold behind two buttons, so the map stays visible. */
  document.addEventListener("DOMContentLoaded", function () {
    var boxes = [["filter", "Filter", "sp-tombol-filter"], ["legenda", "Legenda", "sp-tombol-legenda"]];
    var bar = null;
    boxes.forEach(function (b) {
      var box = document.getElementById(b[0]);
      if (!box) { return; }
      if (!bar) { bar = document.createElement("div"); bar.className = "sp-tombol"; document.body.appendChild(bar); }
      var btn = document.createElement("button");
      btn.type = "button"; btn.id = b[2]; btn.textContent = b[1];
      btn.setAttribute("aria-controls", b[0]); btn.setAttribute("aria-expanded", "false");
      btn.addEventListener("click", function () {
        var open = !box.classList.contains("sp-buka");
        boxes.forEach(function (o) {  // one sheet at a time
          var other = document.getElementById(o[0]), ob = document.getElementById(o[2]);
          if (other) { other.classList.remove("sp-buka"); }
          if (ob) { ob.setAttribute("aria-expanded", "false"); }
        });
        box.classList.toggle("sp-buka", open);
        btn.setAttribute("aria-expanded", String(open));
      });
      bar.appendChild(btn);
    });
  });

  /* The first view: the city fitted at once (no animation: Leaflet ignores every setView while a zoom animation
     runs, so an animated first fit swallowed the first zoom a page or a person asked for), with room on a desk
     screen for the boxes laid over the map (the legend and filter on the right, the title on the top left). */
  SP.maps = [];
  SP.fit = function (map, bounds) {
    if (SP.maps.indexOf(map) < 0) { SP.maps.push(map); }
    var tl = [10, 10], br = [10, 10], c = map.getContainer().getBoundingClientRect();
    if (window.innerWidth > 600) {
      ["legenda", "filter"].forEach(function (id) {
        var el = document.getElementById(id), r = el && el.getBoundingClientRect();
        if (r && r.width && r.left > c.left + c.width / 2) { br[0] = Math.max(br[0], c.right - r.left + 10); }
      });
      var t = document.querySelector(".sp-title"), tr = t && t.getBoundingClientRect();
      if (tr && tr.height) { tl[1] = Math.max(tl[1], tr.bottom - c.top + 6); }
    }
    // a box wider than half the map would leave no map: then the city simply fills it
    if (br[0] + tl[0] > c.width / 2) { br[0] = 10; }
    if (tl[1] + br[1] > c.height / 2) { tl[1] = 10; }
    map.fitBounds(bounds, {paddingTopLeft: tl, paddingBottomRight: br, animate: false});
  };
  /* The page at rest: loaded, no map moving or zooming, no cluster animating, every image tile in, every popup
     faded in. Tests (and anyone taking a picture) wait on this instead of a fixed pause. */
  SP.diam = function () {
    if (!SP.ready) { return false; }
    for (var i = 0; i < SP.maps.length; i++) {
      var m = SP.maps[i];
      if (m._animatingZoom || (m._panAnim && m._panAnim._inProgress) || m._flyToFrame) { return false; }
    }
    if (document.querySelector(".leaflet-cluster-anim, .leaflet-zoom-anim, img.leaflet-tile:not(.leaflet-tile-loaded)")) {
      return false;
    }
    var pops = document.querySelectorAll(".leaflet-popup");
    for (var j = 0; j < pops.length; j++) { if (getComputedStyle(pops[j]).opacity !== "1") { return false; } }
    return true;
  };

  function dot(colour, cls) {
    return L.divIcon({className: cls || "sp-lap", iconSize: [14, 14], iconAnchor: [7, 7],
                      html: '<span style="background:' + SP.esc(colour) + '"></span>'});
  }

  /* Laporan warga: clustered points (or grid cells when there are too many), hand-offs, fetch by view. */
  SP.laporan = function (map, cluster, cfg) {
    var colour = function (k) { return cfg.colours[k] || cfg.fallback; };
    SP.map = map; SP.cluster = cluster; SP.cfg = cfg;
    var handoff = L.layerGroup().addTo(map);
    var grid = L.layerGroup().addTo(map);
    var kabkota = {};
    (cfg.serah || []).forEach(function (k) { kabkota[k.kode] = k; });

    function popup(p) {
      return '<div class="sp-popup"><h3>Laporan #' + SP.esc(p.id) + " · " + SP.esc(p.layanan_nama) + "</h3>" +
        "<p><b>Status:</b> " + SP.esc(cfg.status[p.status] || p.status) + "</p>" +
        "<p><b>OPD tujuan:</b> " + SP.esc(cfg.opdNames[p.opd_kode] || p.opd_kode) + "</p>" +
        '<p class="sp-reason"><b>Alasan:</b> ' + SP.esc(p.alasan_teks) + "</p>" +
        (p.deskripsi ? '<p class="sp-desc">' + SP.esc(p.deskripsi) + "</p>" : "") +
        "<p><small>Diterima " + SP.esc(p.diterima) + (p.kelurahan_nama ? " · Kel. " + SP.esc(p.kelurahan_nama) : "") +
        "</small></p></div>";
    }
    // cluster bubbles take the colour of the OPD most of their laporan went to
    cluster.options.iconCreateFunction = function (c) {
      var counts = {}, best = null, n = c.getChildCount();
      c.getAllChildMarkers().forEach(function (m) {
        var k = m.options.opd;
        counts[k] = (counts[k] || 0) + 1;
        if (best === null || counts[k] > counts[best]) { best = k; }
      });
      var size = n < 10 ? 30 : (n < 100 ? 36 : 44);
      var text = (cfg.textColours || {})[best] || cfg.fallbackText || "#111";
      var code = (cfg.codes || {})[best] || "lainnya";
      var name = SP.num(n) + " laporan, " + code;
      var icon = L.divIcon({html: '<div style="background:' + SP.esc(colour(best)) + ";color:" + SP.esc(text) +
                                  '"><span>' + SP.esc(SP.num(n)) + "</span></div>",
                            className: "marker-cluster sp-cluster", iconSize: L.point(size, size)});
      // the focusable element Leaflet makes of the icon (tabindex 0, role button) carries the cluster's name
      var make = icon.createIcon;
      icon.createIcon = function (old) {
        var el = make.call(icon, old);
        el.setAttribute("aria-label", name); el.title = name;
        // Enter or Space on the focused bubble does what a click does: zoom in to its laporan (spread them at the end)
        el.addEventListener("keydown", function (ev) {
          if (ev.key !== "Enter" && ev.key !== " ") { return; }
          ev.preventDefault();
          if (map.getZoom() >= map.getMaxZoom()) { c.spiderfy(); } else { c.zoomToBounds({padding: [30, 30]}); }
        });
        return el;
      };
      return icon;
    };
    function marker(p) {
      var m = L.marker([p.lat, p.lon], {icon: dot(colour(p.opd_kode)), title: "Laporan #" + p.id, opd: p.opd_kode});
      m.bindPopup(function () { return popup(p); }, {maxWidth: 320});
      return m;
    }
    function showPoints(points) {
      cluster.clearLayers();
      handoff.clearLayers();
      cluster.addLayers(points.map(marker));
      points.forEach(function (p) {
        var k = kabkota[p.kabkota_kode];
        if (p.keputusan === "serah_terima" && k) {
          L.polyline([[p.lat, p.lon], [k.lat, k.lon]], {color: colour(p.opd_kode), weight: 2, dashArray: "6 5",
                                                         interactive: false, className: "sp-handoff-line"}).addTo(handoff);
        }
      });
      SP.stats.points = points.length;
    }
    function showGrid(cells) {
      grid.clearLayers();
      cells.forEach(function (c) {
        var size = Math.round(18 + 8 * Math.log10(c.n + 1) * 2);
        L.marker([c.lat, c.lon], {icon: L.divIcon({
          className: "sp-cell-wrap", iconSize: [size, size], iconAnchor: [size / 2, size / 2],
          html: '<div class="sp-cell" style="width:' + size + "px;height:" + size + "px;line-height:" + (size - 4) +
                "px;background:" + SP.esc(colour(c.opd_kode)) + '">' + SP.esc(SP.num(c.n)) + "</div>"})})
          .bindTooltip(SP.num(c.n) + " laporan; terbanyak: " + SP.esc(cfg.opdNames[c.opd_kode] || c.opd_kode))
          .addTo(grid);
      });
      SP.stats.grid = cells.length;
    }
    (cfg.serah || []).forEach(function (k) {
      L.circleMarker([k.lat, k.lon], {radius: 9, color: "#333", weight: 2, fillColor: "#fff", fillOpacity: 1,
                                      className: "sp-handoff-target"})
        .bindTooltip("Diserahkan ke " + SP.esc(k.nama) + ": " + SP.num(k.n) + " laporan",
                     {permanent: map.getSize().x > 600, className: "sp-handoff",
                      direction: k.lon > map.getCenter().lng ? "right" : "left"})  // away from the city
        .addTo(map);
    });
    if (cfg.points) {
      showPoints(cfg.points);
    } else {
      showGrid(cfg.grid);
      SP.stats.points = 0;
    }
    // Too many for one page: on a server, fetch the laporan in view once zoomed in far enough.
    if (!cfg.points && cfg.api && window.fetch) {
      var seq = 0;
      map.on("moveend", function () {
        var mine = ++seq;
        if (map.getZoom() < cfg.detailZoom) {
          cluster.clearLayers(); handoff.clearLayers();
          if (!map.hasLayer(grid)) { grid.addTo(map); }
          return;
        }
        var b = map.getBounds();
        var url = cfg.api + "&bbox=" + [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
          return v.toFixed(6); }).join(",");
        fetch(url, {headers: {"Accept": "application/json"}}).then(function (r) { return r.json(); })
          .then(function (j) {
            if (mine !== seq) { return; }
            if (!j.terpotong) { map.removeLayer(grid); showPoints(j.titik); }
          });
      });
    }
  };
  /* Place search (the platform's own geocoder, /geocode/search): a box under the zoom buttons on every map. */
  SP.cari = function (map, api) {
    var Ctl = L.Control.extend({
      options: {position: "topleft"},
      onAdd: function () {
        var box = L.DomUtil.create("div", "leaflet-bar sp-cari");
        box.innerHTML = '<form role="search"><label class="sp-sr" for="sp-cari-q">Cari tempat</label>' +
          '<input id="sp-cari-q" type="search" name="q" placeholder="Cari tempat…" autocomplete="off" maxlength="200">' +
          '<button type="submit">Cari</button></form><ul class="sp-cari-hasil" aria-live="polite"></ul>';
        L.DomEvent.disableClickPropagation(box); L.DomEvent.disableScrollPropagation(box);
        var list = box.querySelector("ul"), pin = null;
        box.querySelector("form").addEventListener("submit", function (ev) {
          ev.preventDefault();
          var q = box.querySelector("input").value.trim();
          if (!q) { return; }
          fetch(api + "?" + new URLSearchParams({q: q, limit: "5"}))
            .then(function (r) { return r.ok ? r.json() : {candidates: []}; })
            .then(function (res) {
              var c = (res.candidates || []).filter(function (x) { return x.point; });
              list.innerHTML = c.length ? "" : "<li>Tidak ditemukan.</li>";
              c.forEach(function (x) {
                var name = [x.kelurahan && ("Kel. " + x.kelurahan.nama), x.kecamatan && ("Kec. " + x.kecamatan.nama),
                            x.kabkota && x.kabkota.nama].filter(Boolean).join(", ");
                var li = document.createElement("li"), b = document.createElement("button");
                b.type = "button"; b.textContent = name || q;
                b.addEventListener("click", function () {
                  var ll = [x.point.lat, x.point.lon];
                  if (pin) { map.removeLayer(pin); }
                  pin = L.marker(ll, {title: name}).addTo(map).bindPopup(SP.esc(name)).openPopup();
                  map.setView(ll, Math.max(map.getZoom(), 15));
                  list.innerHTML = "";
                });
                li.appendChild(b); list.appendChild(li);
              });
            })
            .catch(function () { list.innerHTML = "<li>Pencarian gagal; coba lagi.</li>"; });
        });
        return box;
      }
    });
    new Ctl().addTo(map);
  };
  /* Phones (below 600 px): a popup opens as a sheet along the bottom of the screen, never under a box. */
  SP.lembar = function (map) {
    var mq = window.matchMedia ? window.matchMedia("(max-width: 600px)") : null;
    var sheet = null;
    function close() { if (sheet && !sheet.hidden) { sheet.hidden = true; sheet.lastChild.innerHTML = ""; } }
    function make() {
      sheet = document.createElement("div");
      sheet.className = "sp-lembar"; sheet.id = "sp-lembar"; sheet.hidden = true;
      sheet.setAttribute("role", "dialog"); sheet.setAttribute("aria-label", "Keterangan");
      var btn = document.createElement("button");
      btn.type = "button"; btn.className = "sp-lembar-tutup"; btn.textContent = "Tutup";
      btn.addEventListener("click", close);
      sheet.appendChild(btn); sheet.appendChild(document.createElement("div"));
      L.DomEvent.disableClickPropagation(sheet); L.DomEvent.disableScrollPropagation(sheet);
      document.body.appendChild(sheet);
    }
    map.on("popupopen", function (e) {
      if (!mq || !mq.matches || !e.popup._contentNode) { return; }
      if (!sheet) { make(); }
      // the popup's own DOM, already built from escaped text, moves into the sheet
      sheet.lastChild.innerHTML = e.popup._contentNode.innerHTML;
      sheet.hidden = false;
      SP.stats.lembar = (SP.stats.lembar || 0) + 1;
      setTimeout(function () { map.closePopup(e.popup); sheet.firstChild.focus(); }, 0);
    });
    map.on("click", close);
    document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { close(); } });
  };
  /* Boundary polygons and lines out of the tab order (Chromium focuses interactive SVG paths): a keyboard
     walks the controls, the laporan and the trucks, not 104 kelurahan shapes. */
  SP.keluarTab = function (map) {
    function off(el) { if (el && el.setAttribute) { el.setAttribute("tabindex", "-1"); el.setAttribute("focusable", "false"); } }
    function sweep() { Array.prototype.forEach.call(map.getContainer().querySelectorAll("path"), off); }
    map.on("layeradd", function (e) { if (e.layer && e.layer._path) { off(e.layer._path); } });
    map.whenReady(sweep); setTimeout(sweep, 0);
  };
  /* The published street layer from its /ogc vector tiles, an overlay in the layer control (off at first). */
  SP.jalan = function (map, control, cfg) {
    if (!L.vectorGrid) { return; }
    if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function () { return true; }; }
    if (!map.getPane("spJalan")) {  // above the filled boundaries, below markers; never takes a click
      var pane = map.createPane("spJalan"); pane.style.zIndex = 420; pane.style.pointerEvents = "none";
    }
    var styles = {};
    styles[cfg.layer] = {color: "#6d6d6d", weight: 1.6, opacity: 0.9, fill: false};
    var vg = L.vectorGrid.protobuf(cfg.url, {vectorTileLayerStyles: styles, interactive: false, pane: "spJalan",
                                             maxNativeZoom: 22, rendererFactory: L.svg.tile});
    control.addOverlay(vg, cfg.name);
    SP.stats.jalan = cfg.layer;
  };
  /* Kelurahan names from zoom 14 (below that they would cover each other). */
  SP.labelKelurahan = function (map, group) {
    function sync() {
      var on = map.getZoom() >= 14;
      if (on && !map.hasLayer(group)) { group.addTo(map); } else if (!on && map.hasLayer(group)) { map.removeLayer(group); }
    }
    map.on("zoomend", sync); sync();
  };
  /* Armada Si Lacak: one marker per truck, moved in place from the fleet's live GeoJSON. */
  function ageText(s) {
    if (s === null || s === undefined) { return ""; }
    if (s < 60) { return Math.max(0, Math.floor(s)) + " detik lalu"; }
    if (s < 3600) { return Math.floor(s / 60) + " menit lalu"; }
    if (s < 86400) { return Math.floor(s / 3600) + " jam lalu"; }
    return Math.floor(s / 86400) + " hari lalu";
  }
  SP.armada = function (map, cfg) {
    var markers = {};
    var status = document.getElementById("status-armada");
    SP.map = map;
    SP.fleet = {markers: markers, refreshes: 0};
    // truck names on hover; always on show only from zoom 14, where they no longer sit on each other
    var permanent = function () { return map.getZoom() >= 14; };
    var staleS = cfg.staleS || 300;
    var jam = function (iso) {
      var d = new Date(iso);
      return isNaN(d) ? "" : d.toLocaleString("id-ID", {timeZone: "Asia/Jakarta", day: "2-digit", month: "2-digit",
                                                        year: "numeric", hour: "2-digit", minute: "2-digit"})
        .replace(/\//g, "-") + " WIB";
    };
    function kmh(v) { return Number(v).toLocaleString("id-ID", {maximumFractionDigits: 1}) + " km/j"; }
    function popup(p) {
      var visits = (cfg.visits || []).filter(function (v) { return v.plat === p.plat_nomor; });
      return '<div class="sp-popup"><h3>' + SP.esc(p.plat_nomor) + "</h3>" +
        (p.speed_kmh !== null && p.speed_kmh !== undefined ? "<p><b>Kecepatan:</b> " + SP.esc(kmh(p.speed_kmh)) + "</p>" : "") +
        "<p><b>Posisi terakhir:</b> " + SP.esc(jam(p.fix_time)) + " (" + SP.esc(ageText(p.age_s)) + ")</p>" +
        "<p><b>Kunjungan TPS/TPA hari ini:</b> " + SP.num(visits.length) + "</p>" +
        (visits.length ? "<ul>" + visits.map(function (v) {
          return "<li>" + SP.esc(v.nama) + ": " + SP.esc(v.datang) + "–" + SP.esc(v.pergi) + "</li>";
        }).join("") + "</ul>" : "") + "</div>";
    }
    var icon = L.divIcon({className: "sp-truck", html: '<i class="fa-solid fa-truck"></i>',
                          iconSize: [22, 22], iconAnchor: [11, 11]});
    function label(p) {
      return "<b>" + SP.esc(p.plat_nomor) + "</b>" +
        (p.speed_kmh !== null && p.speed_kmh !== undefined ? " · " + SP.esc(kmh(p.speed_kmh)) : "") +
        " · " + SP.esc(p.terakhir_terlihat || ageText(p.age_s));
    }
    // names on hover (many trucks would hide each other); always on show from zoom 14, and for a truck not
    // heard from for a while, so its age reads without a hover
    function tooltip(m, text) {
      var on = permanent() || !!m.options.spLama, t = m.getTooltip();
      var cls = "sp-truck-label" + (m.options.spLama ? " sp-truck-label-lama" : "");
      if (!t || t.options.permanent !== on || t.options.className !== cls) {
        m.unbindTooltip();
        m.bindTooltip(text, {permanent: on, direction: "top", offset: [0, -10], className: cls});
      } else {
        m.setTooltipContent(text);
      }
    }
    function apply(fc) {
      var seen = {};
      (fc.features || []).forEach(function (f) {
        var id = String(f.id !== undefined && f.id !== null ? f.id : f.properties.vehicle_id);
        var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        var m = markers[id];
        seen[id] = true;
        if (!m) {
          m = markers[id] = L.marker(ll, {icon: icon, title: String(f.properties.plat_nomor), zIndexOffset: 1000});
          m.addTo(map);
        } else {
          m.setLatLng(ll);
        }
        m.bindPopup(popup(f.properties), {maxWidth: 300});
        var lama = f.properties.age_s !== null && f.properties.age_s !== undefined && f.properties.age_s > staleS;
        if (m._icon) { m._icon.classList.toggle("sp-truck-lama", lama); }
        m.options.spLama = lama;
        tooltip(m, label(f.properties));
      });
      Object.keys(markers).forEach(function (k) {
        if (!seen[k]) { map.removeLayer(markers[k]); delete markers[k]; }
      });
      SP.stats.trucks = Object.keys(markers).length;
      if (status) {
        status.textContent = SP.stats.trucks + " truk · posisi pukul " +
          new Date().toLocaleTimeString("id-ID", {timeZone: "Asia/Jakarta"}) + " WIB";
      }
    }
    SP.fleet.apply = apply;
    apply({features: cfg.features});
    map.on("zoomend", function () {  // labels on show from zoom 14, on hover below
      Object.keys(markers).forEach(function (k) {
        var t = markers[k].getTooltip();
        if (t) { tooltip(markers[k], t.getContent()); }
      });
    });
    if (cfg.api && window.fetch) {
      setInterval(function () {
        fetch(cfg.api, {headers: {"Accept": "application/geo+json"}})
          .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
          .then(function (fc) { apply(fc); SP.fleet.refreshes += 1; })
          .catch(function () { if (status) { status.textContent = "Gagal memperbarui posisi; mencoba lagi…"; } });
      }, cfg.refreshMs);
    } else if (status) {
      status.textContent = SP.stats.trucks + " truk · salinan statis";
    }
    if (cfg.stream && window.EventSource) { SP.terlewatStream(map, cfg); }
  };
  /* The live stream's terlewat events: a TPS whose window ended without a visit turns red, its popup and tooltip
     say so (markers carry their nama as options.spTps, maps/armada.py). */
  SP.terlewatStream = function (map, cfg) {
    SP.fleet.terlewat = [];
    function recount(label, by) {  // the legend row 'TPS terlewat (3)' follows the markers
      if (!label) { return; }
      document.querySelectorAll("#legenda li").forEach(function (li) {
        var m = li.textContent.match(/^(.*) \((\d+)\)$/);
        if (!m || m[1] !== label) { return; }
        var last = li.lastChild;
        if (last && last.nodeType === 3) { last.textContent = label + " (" + Math.max(0, Number(m[2]) + by) + ")"; }
      });
    }
    var tps = {};  // nama -> its markers, taken now: a layer switched off later is not walked by eachLayer
    map.eachLayer(function (l) {
      if (l.options && l.options.spTps) { (tps[l.options.spTps] = tps[l.options.spTps] || []).push(l); }
    });
    function mark(nama) {
      (tps[nama] || []).forEach(function (l) {
        var icon = l.options.icon && l.options.icon.options;
        if (!icon || l.options.spTerlewat) { return; }  // announced again (a reconnected stream)
        var was = ((icon.html || "").match(/#[0-9a-f]{6}/i) || [""])[0].toLowerCase();
        // only a TPS still waiting for its window turns red: the stored row is judged at the last window end,
        // and a TPS served late since then was drawn terlambat at load (the page's own reading is newer)
        if (was !== cfg.terlewat.from) { return; }
        l.options.spTerlewat = true;
        recount(cfg.terlewat.legend[was], -1);
        recount(cfg.terlewat.legend[cfg.terlewat.colour], 1);
        // a new icon, not a restyled element: a layer switched off and on again redraws it from the icon
        l.setIcon(L.divIcon(L.extend({}, icon, {className: icon.className + " sp-site-terlewat",
                                                 html: '<span style="background:' + cfg.terlewat.colour + '"></span>'})));
        var p = l.getPopup();
        if (p) {
          var c = p.getContent(), box = document.createElement("div");
          if (typeof c === "string") { box.innerHTML = c; } else if (c) { box.appendChild(c); }
          var st = box.querySelector(".sp-angkut");
          if (st) {
            st.hidden = false;
            st.innerHTML = "Pengangkutan: <b>" + SP.esc(cfg.terlewat.text) + "</b>";
            p.setContent(box.firstChild);
          }
        }
        var t = l.getTooltip();
        if (t && typeof t.getContent() === "string") {  // 'TPS X · 0 kunjungan hari ini[ · status]'
          var txt = t.getContent();
          (cfg.terlewat.all || []).forEach(function (s) { txt = txt.split(" · " + SP.esc(s)).join(""); });
          t.setContent(txt.replace(/kunjungan hari ini/, "kunjungan hari ini · " + SP.esc(cfg.terlewat.text)));
        }
      });
    }
    var es = new EventSource(cfg.stream);
    es.addEventListener("terlewat", function (ev) {
      var fc = JSON.parse(ev.data);
      if (fc.date !== cfg.day) { return; }  // past midnight the page still shows its own day
      (fc.features || []).forEach(function (f) {
        var nama = f.properties.nama;
        if (SP.fleet.terlewat.indexOf(nama) < 0) { SP.fleet.terlewat.push(nama); }
        mark(nama);
      });
    });
    SP.fleet.stream = es;
  };
  /* Dasbor OPD: one layer per OPD with its open laporan (points: [lat, lon, id, layanan, terlambat]). */
  SP.titikOpd = function (group, cfg) {
    cfg.points.forEach(function (p) {
      L.circleMarker([p[0], p[1]], {radius: 5, color: p[4] ? "#b2182b" : "#ffffff", weight: p[4] ? 2.5 : 1,
                                    fillColor: cfg.colour, fillOpacity: 0.9, className: "sp-terbuka"})
        .bindTooltip("Laporan #" + SP.esc(p[2]) + " · " + SP.esc(p[3]) + " · " + SP.esc(cfg.opd) +
                     (p[4] ? " · <b>terlambat</b>" : ""))
        .addTo(group);
    });
    SP.stats.terbuka = (SP.stats.terbuka || 0) + cfg.points.length;
  };
  /* Layer map from the /ogc vector tiles (Leaflet.VectorGrid); attributes in a popup on click. */
  SP.vectorTiles = function (map, cfg) {
    // VectorGrid 1.3.0 still calls L.DomEvent.fakeStop, which Leaflet 1.8 removed; a no-op keeps clicks working.
    if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function () { return true; }; }
    var styles = {};
    // VectorGrid passes no geometry type to the style; cfg.fill comes from the catalog's geometry type
    styles[cfg.layer] = {radius: 5, color: cfg.colour, weight: 2, fill: cfg.fill, fillColor: cfg.colour,
                         fillOpacity: 0.35};
    // above the (filled, interactive) boundary polygons of the overlay pane, or they would take every click
    if (!map.getPane("spTiles")) { map.createPane("spTiles").style.zIndex = 450; }
    var vg = L.vectorGrid.protobuf(cfg.url, {vectorTileLayerStyles: styles, interactive: true, pane: "spTiles",
                                             maxNativeZoom: cfg.maxNativeZoom, rendererFactory: L.svg.tile});
    vg.on("click", function (e) {
      var p = e.layer.properties || {};
      var rows = Object.keys(p).slice(0, 12).map(function (k) {
        return "<tr><th>" + SP.esc(k) + "</th><td>" + SP.esc(p[k]) + "</td></tr>"; }).join("");
      L.popup().setLatLng(e.latlng).setContent('<div class="sp-popup"><table>' + rows + "</table></div>").openOn(map);
    });
    vg.on("load", function () { SP.stats.tilesLoaded = true; });
    vg.addTo(map);
    SP.stats.vectorTiles = true;
  };
})();
