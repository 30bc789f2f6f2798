/* Citizen pages (/lapor, /lacak): the map with a draggable pin, live hints (kelurahan, OPD, nearby reports),
   address search, photos resized in the browser (EXIF position offered as the pin), the form kept across a
   dropped network in localStorage. Vanilla JS over the vendored Leaflet; every request goes to this server. */
(function () {
  "use strict";
  var SIMPAN = "sp-lapor-isian";
  if (document.body.getAttribute("data-selesai")) { try { localStorage.removeItem(SIMPAN); } catch (e) {} return; }
  var form = document.getElementById("sp-form");
  if (!form) return;
  var data = JSON.parse(document.getElementById("sp-data").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var lat = $("lat"), lon = $("long"), kat = $("service_code"), kel = $("kelurahan");
  var lokasiInfo = $("lokasi-info"), opdInfo = $("opd-info"), dekatBox = $("dekat");
  var galat = $("galat");
  if (galat) galat.focus();

  function text(el, s) { el.textContent = s; }
  function getJSON(url, opts) {
    return fetch(url, opts).then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
  }

  /* ---- keep what was typed (restored unless the server already sent it back) ---- */
  var KEEP = ["service_code", "description", "address_string", "first_name", "phone", "email", "lat", "long",
              "kelurahan"];
  function simpan() {
    var o = {};
    KEEP.forEach(function (n) { var el = form.elements[n]; if (el) o[n] = el.value; });
    form.querySelectorAll("[name^='attribute[']").forEach(function (el) { o[el.name] = el.value; });
    try { localStorage.setItem(SIMPAN, JSON.stringify(o)); } catch (e) {}
  }
  function pulihkan() {
    var o; try { o = JSON.parse(localStorage.getItem(SIMPAN) || "null"); } catch (e) { o = null; }
    if (!o || galat) return;  // after a refusal the server has put back every field itself
    Object.keys(o).forEach(function (n) { var el = form.elements[n]; if (el && !el.value && o[n]) el.value = o[n]; });
  }
  pulihkan();
  form.addEventListener("input", simpan);
  form.addEventListener("change", simpan);

  /* ---- category attributes: only the chosen category's fields are sent ---- */
  function atributAktif() {
    form.querySelectorAll(".sp-atribut").forEach(function (fs) {
      var on = fs.getAttribute("data-layanan") === kat.value;
      fs.disabled = !on; fs.hidden = !on;
    });
  }

  /* ---- the map ---- */
  var map = null, pin = null, batas = null;
  var pusat = [-6.1783, 106.6319];
  function titik() {
    if (lat.value && lon.value) return [parseFloat(lat.value), parseFloat(lon.value)];
    var o = kel && kel.selectedOptions[0];
    if (o && o.getAttribute("data-lat")) return [parseFloat(o.getAttribute("data-lat")), parseFloat(o.getAttribute("data-lon"))];
    return null;
  }
  if (window.L && $("peta")) {
    map = L.map("peta", { zoomControl: true }).setView(titik() || pusat, titik() ? 16 : 12);
    if (data.tile) L.tileLayer(data.tile, { maxZoom: 19 }).addTo(map);
    getJSON("/lapor/batas.geojson").then(function (gj) {
      batas = L.geoJSON(gj, { interactive: false, style: { color: "#0b3d6e", weight: 1.2, fillColor: "#4477AA", fillOpacity: 0.06 } }).addTo(map);
      if (!titik()) map.fitBounds(batas.getBounds());
    }).catch(function () {});
    pin = L.marker(titik() || pusat, { draggable: true, keyboard: true, title: "Penanda lokasi masalah", alt: "Penanda lokasi masalah" }).addTo(map);
    pin.on("dragend", function () { taruh(pin.getLatLng().lat, pin.getLatLng().lng, true); });
    map.on("click", function (e) { taruh(e.latlng.lat, e.latlng.lng, true); });
    pin.on("keydown", function (e) {
      var k = e.originalEvent.key, p = pin.getLatLng(), d = 0.0003;
      var m = { ArrowUp: [d, 0], ArrowDown: [-d, 0], ArrowLeft: [0, -d], ArrowRight: [0, d] }[k];
      if (!m) return;
      e.originalEvent.preventDefault();
      taruh(p.lat + m[0], p.lng + m[1], true);
    });
  }

  function taruh(y, x, dariPeta) {
    lat.value = y.toFixed(6); lon.value = x.toFixed(6);
    if (dariPeta && kel) kel.value = "";
    if (pin) { pin.setLatLng([y, x]); }
    if (map && !dariPeta) map.setView([y, x], 17);
    simpan();
    balik(y, x); jelaskan(); cariDekat();
  }

  function balik(y, x) {
    getJSON("/geocode/reverse?lat=" + y + "&lon=" + x).then(function (r) {
      lokasiInfo.classList.toggle("sp-luar", !r.in_kota_tangerang);
      if (r.in_kota_tangerang && r.kelurahan) {
        text(lokasiInfo, "Kelurahan " + r.kelurahan.nama + ", Kecamatan " + r.kecamatan.nama + ".");
      } else {
        var ke = r.kabkota ? r.kabkota.nama : "pemerintah daerah setempat";
        text(lokasiInfo, "Di luar Kota Tangerang" + (r.desa_kelurahan ? " (" + r.desa_kelurahan.nama + ")" : "") +
             " — laporan akan diserahkan ke " + ke + ".");
      }
    }).catch(function () { text(lokasiInfo, "Lokasi belum dapat diperiksa (sambungan terputus?). Isian Anda tetap tersimpan."); });
  }

  function jelaskan() {
    var t = titik();
    if (!kat.value) { text(opdInfo, ""); return; }
    if (!t) { text(opdInfo, "Tentukan lokasi dulu untuk melihat OPD yang akan menangani."); return; }
    getJSON("/routing/explain", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ category: kat.value, lat: t[0], lon: t[1] }) }).then(function (r) {
      var l = data.layanan[kat.value] || {};
      // the decision's own sentence; the rules passed over that follow it are for officers (/routing/explain)
      var alasan = r.alasan_teks.replace(/^(.*?\.)\s+Aturan\b[\s\S]*$/, "$1");
      text(opdInfo, "Akan ditangani oleh " + r.opd_nama + ". " + alasan +
           (l.sla ? " Target penyelesaian " + l.sla + " hari kerja." : ""));
    }).catch(function () { text(opdInfo, "OPD belum dapat diperiksa (sambungan terputus?)."); });
  }

  function cariDekat() {
    var t = titik();
    if (!kat.value || !t) { dekatBox.hidden = true; return; }
    getJSON("/lapor/dekat?layanan=" + encodeURIComponent(kat.value) + "&lat=" + t[0] + "&lon=" + t[1]).then(function (rows) {
      dekatBox.innerHTML = "";
      if (!rows.length) { dekatBox.hidden = true; return; }
      var h = document.createElement("p");
      h.innerHTML = "<strong></strong>";
      text(h.firstChild, "Sudah ada laporan serupa di dekat sini:");
      var ul = document.createElement("ul");
      rows.forEach(function (r) {
        var li = document.createElement("li");
        li.appendChild(document.createTextNode("Laporan " + r.id + " (" + Math.round(r.jarak_m) + " m, " + r.status +
          ", " + r.tanggal + ")" + (r.deskripsi ? ": " + r.deskripsi : "") + " "));
        var a = document.createElement("a");
        a.href = "/lacak/" + r.id; a.className = "sp-sama";
        text(a, "Ini masalah yang sama"); a.setAttribute("aria-label", "Ini masalah yang sama: ikuti laporan " + r.id);
        li.appendChild(a); ul.appendChild(li);
      });
      dekatBox.appendChild(h); dekatBox.appendChild(ul);
      var p = document.createElement("p"); p.className = "sp-kecil";
      text(p, "Jika masalah Anda berbeda, lanjutkan mengisi formulir.");
      dekatBox.appendChild(p);
      dekatBox.hidden = false;
    }).catch(function () { dekatBox.hidden = true; });
  }

  kat.addEventListener("change", function () { atributAktif(); jelaskan(); cariDekat(); });
  if (kel) kel.addEventListener("change", function () {
    lat.value = ""; lon.value = "";
    var t = titik();
    if (t) {
      if (pin) pin.setLatLng(t);
      if (map) map.setView(t, 15);
      var o = kel.selectedOptions[0];
      lokasiInfo.classList.remove("sp-luar");
      text(lokasiInfo, "Kelurahan " + o.textContent + ", Kecamatan " + o.parentNode.label.replace(/^Kecamatan /, "") +
           " (dipilih dari daftar).");
    }
    simpan(); jelaskan(); cariDekat();
  });
  var lewati = $("ke-tanpa-peta");
  if (lewati) lewati.addEventListener("click", function (e) {
    e.preventDefault(); $("tanpa-peta").open = true; kel.focus();
  });
  atributAktif();
  window.SPLapor = { map: map, pin: pin, ready: true, t: performance.now() };  // for the browser tests and the benchmark
  if (titik()) { var t0 = titik(); if (lat.value) balik(t0[0], t0[1]); jelaskan(); cariDekat(); }

  /* ---- address search ---- */
  var cari = $("cari"), hasil = $("cari-hasil"), tunda = null;
  function pilihSaran(s) {
    hasil.innerHTML = ""; cari.value = s.label;
    if (s.point) taruh(s.point.lat, s.point.lon, false);
  }
  function tampilkan(list) {
    hasil.innerHTML = "";
    list.forEach(function (s, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option"); li.id = "saran-" + i; li.tabIndex = -1;
      text(li, s.label);
      li.addEventListener("click", function () { pilihSaran(s); });
      li.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); pilihSaran(s); } });
      hasil.appendChild(li);
    });
  }
  if (cari) {
    cari.addEventListener("input", function () {
      clearTimeout(tunda);
      var q = cari.value.trim();
      if (q.length < 2) { hasil.innerHTML = ""; return; }
      tunda = setTimeout(function () {
        getJSON("/geocode/autocomplete?limit=6&q=" + encodeURIComponent(q)).then(function (r) {
          tampilkan(r.suggestions.filter(function (s) { return s.point; }));
        }).catch(function () {});
      }, 250);
    });
    cari.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && hasil.firstChild) { e.preventDefault(); hasil.firstChild.focus(); }
      if (e.key !== "Enter") return;
      e.preventDefault();
      getJSON("/geocode/search?limit=5&q=" + encodeURIComponent(cari.value.trim().slice(0, 300))).then(function (r) {
        var c = (r.candidates || []).filter(function (c) { return c.point; });
        if (!c.length) { text(lokasiInfo, "Alamat tidak ditemukan. Coba nama kelurahan atau tempat terdekat."); return; }
        pilihSaran({ label: c[0].label || (c[0].kelurahan && c[0].kelurahan.nama) || cari.value, point: c[0].point });
      }).catch(function () { text(lokasiInfo, "Pencarian gagal (sambungan terputus?)."); });
    });
    hasil.addEventListener("keydown", function (e) {
      var a = document.activeElement;
      if (e.key === "ArrowDown" && a.nextSibling) { e.preventDefault(); a.nextSibling.focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); (a.previousSibling || cari).focus(); }
    });
  }

  /* ---- use my location ---- */
  var saya = $("lokasi-saya");
  if (saya) saya.addEventListener("click", function () {
    if (!navigator.geolocation) { text(lokasiInfo, "Perangkat ini tidak dapat memberi lokasi. Geser penanda di peta atau pilih kelurahan."); return; }
    text(lokasiInfo, "Mencari lokasi Anda…");
    navigator.geolocation.getCurrentPosition(function (p) {
      taruh(p.coords.latitude, p.coords.longitude, false);
      if (p.coords.accuracy > 150) {
        setTimeout(function () { lokasiInfo.textContent += " Lokasi kurang tepat (±" + Math.round(p.coords.accuracy) + " m): periksa dan geser penanda bila perlu."; }, 600);
      }
    }, function (err) {
      text(lokasiInfo, err.code === 1 ? "Izin lokasi ditolak. Geser penanda di peta, cari alamat, atau pilih kelurahan dari daftar."
                                      : "Lokasi tidak dapat ditentukan. Geser penanda di peta atau pilih kelurahan dari daftar.");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });

  /* ---- photos: resized here, the EXIF position (if any) offered as the pin ---- */
  function exifGps(buf) {
    var v = new DataView(buf);
    if (v.byteLength < 4 || v.getUint16(0) !== 0xFFD8) return null;
    var off = 2;
    while (off + 4 < v.byteLength) {
      var marker = v.getUint16(off), size = v.getUint16(off + 2);
      if (marker === 0xFFE1 && v.getUint32(off + 4) === 0x45786966) return tiff(v, off + 10);
      if ((marker & 0xFF00) !== 0xFF00 || marker === 0xFFDA) return null;
      off += 2 + size;
    }
    return null;
  }
  function tiff(v, t) {
    var le = v.getUint16(t) === 0x4949;
    var u16 = function (o) { return v.getUint16(t + o, le); }, u32 = function (o) { return v.getUint32(t + o, le); };
    function ifd(o) { var n = u16(o), out = {}; for (var i = 0; i < n; i++) { var e = o + 2 + i * 12; out[u16(e)] = e; } return out; }
    var root = ifd(u32(4));
    if (!root[0x8825]) return null;
    var g = ifd(u32(root[0x8825] + 8));
    function rat3(tag) { var o = u32(g[tag] + 8), r = []; for (var i = 0; i < 3; i++) r.push(u32(o + i * 8) / (u32(o + i * 8 + 4) || 1)); return r[0] + r[1] / 60 + r[2] / 3600; }
    if (!g[2] || !g[4]) return null;
    var y = rat3(2), x = rat3(4);
    if (g[1] && String.fromCharCode(v.getUint8(t + g[1] + 8)) === "S") y = -y;
    if (g[3] && String.fromCharCode(v.getUint8(t + g[3] + 8)) === "W") x = -x;
    return (isFinite(y) && isFinite(x) && (y || x)) ? { lat: y, lon: x } : null;
  }
  function perkecil(file) {
    return createImageBitmap(file).then(function (bmp) {
      var s = Math.min(1, 1600 / Math.max(bmp.width, bmp.height));
      var c = document.createElement("canvas");
      c.width = Math.round(bmp.width * s); c.height = Math.round(bmp.height * s);
      c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
      return new Promise(function (ok) { c.toBlob(ok, "image/jpeg", 0.85); });
    }).then(function (blob) {
      return new File([blob], (file.name || "foto").replace(/\.[^.]*$/, "") + ".jpg", { type: "image/jpeg" });
    });
  }
  var foto = $("media"), fotoInfo = $("foto-info"), siap = Promise.resolve();
  if (foto && window.DataTransfer && window.createImageBitmap) foto.addEventListener("change", function () {
    var files = Array.prototype.slice.call(foto.files, 0, 5);
    if (!files.length || foto.getAttribute("data-diperkecil") === "1") { foto.removeAttribute("data-diperkecil"); return; }
    text(fotoInfo, "Memperkecil foto…");
    var gps = null;
    siap = Promise.all(files.map(function (f) {
      return f.slice(0, 131072).arrayBuffer().then(function (b) { gps = gps || exifGps(b); return perkecil(f); })
        .catch(function () { return f; });
    })).then(function (small) {
      var dt = new DataTransfer();
      small.forEach(function (f) { dt.items.add(f); });
      foto.setAttribute("data-diperkecil", "1");
      foto.files = dt.files;
      var kb = Math.round(small.reduce(function (a, f) { return a + f.size; }, 0) / 1024);
      text(fotoInfo, small.length + " foto siap dikirim (" + kb + " KB).");
      if (gps) {
        var b = document.createElement("button");
        b.type = "button"; b.className = "sp-tombol2"; b.id = "pakai-lokasi-foto";
        text(b, "Pakai lokasi dari foto sebagai penanda");
        b.addEventListener("click", function () { taruh(gps.lat, gps.lon, false); b.remove(); });
        fotoInfo.appendChild(document.createElement("br")); fotoInfo.appendChild(b);
      }
    });
  });

  /* ---- submit: not while offline (what was typed stays) ---- */
  var sedangKirim = false;
  form.addEventListener("submit", function (e) {
    simpan();
    if (navigator.onLine === false) {
      e.preventDefault();
      text($("kirim-info"), "Tidak ada sambungan internet. Isian Anda tersimpan di perangkat ini; kirim lagi setelah tersambung.");
      return;
    }
    if (sedangKirim) return;
    e.preventDefault();
    siap.then(function () { sedangKirim = true; form.submit(); });
  });
})();
