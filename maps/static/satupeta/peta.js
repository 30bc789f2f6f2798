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
  window.addEventListener("load", function () { SP.ready = true; });

  function dot(colour, cls) {
    return L.divIcon({className: cls || "sp-lap", iconSize: [14, 14], iconAnchor: [7, 7],
                      html: '<span style="background:' + SP.esc(colour) + '"></span>'});
  }

  /* Laporan warga: clustered points (or grid cells when there are too many), hand-offs, fetch by view. */
  SP.laporan = function (map, cluster, cfg) {
    var colour = function (k) { return cfg.colours[k] || cfg.fallback; };
    SP.map = map; SP.cluster = cluster;
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
    function marker(p) {
      var m = L.marker([p.lat, p.lon], {icon: dot(colour(p.opd_kode)), title: "Laporan #" + p.id});
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
                     {permanent: true, direction: "right", className: "sp-handoff"})
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
})();
