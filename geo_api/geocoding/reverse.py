"""Reverse geocoding: which kelurahan (or whose desa) a point is in, for millions of points per second.

The index is a fine grid over the city and its 3 km ring. A cell that no polygon boundary crosses lies wholly
in the same polygons as its centre, so its answer is stored in the cell; every other point (boundary cells,
overlaps, points near a gap, anything off the grid) goes through the exact path: shapely predicates on the
original polygons and metric distances in UTM 48S. Every point therefore gets the exact answer.

Decision rule, in order (documented in the API too):
1. inside: exactly one kelurahan polygon covers the point.
2. overlap: two or more kelurahan cover it; the one with the lowest Kemendagri kode wins (deterministic,
   and kode order is what the city's own registers use), the others are listed.
3. tetangga: no kelurahan covers it but a neighbouring desa/kelurahan polygon does: it is theirs.
4. gap: nobody's polygon covers it and a kelurahan is within the tolerance (default 30 m): the nearest one.
5. unassigned: inside the Kota Tangerang outline yet farther than the tolerance from every kelurahan.
6. kabkota: inside a neighbouring kab/kota outline beyond the 3 km ring of known desa.
7. nearest_kabkota: within `nearest_max_m` of a known kab/kota outline; 8. outside: beyond everything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

log = logging.getLogger("satupeta.geocoding.reverse")

KOTA_TANGERANG = "36.71"
DECISIONS = ("inside", "gap", "overlap", "unassigned", "tetangga", "kabkota", "nearest_kabkota", "outside")
INSIDE, GAP, OVERLAP, UNASSIGNED, TETANGGA, KABKOTA, NEAREST_KABKOTA, OUTSIDE = range(len(DECISIONS))

# Grid cell codes: a kelurahan index, a neighbour desa, a neighbour kab/kota, or "ask the exact path".
_TET, _KAB, _EXACT = 0x4000, 0x8000, 0xFFFF
_METRIC = Transformer.from_crs("EPSG:4326", "EPSG:32748", always_xy=True)


@dataclass(frozen=True)
class Wilayah:
    """One polygon's attributes (kelurahan, neighbouring desa or kab/kota)."""

    kode: str
    nama: str
    kec_kode: str | None = None
    kec_nama: str | None = None
    kab_kode: str | None = None
    kab_nama: str | None = None
    kodepos: str | None = None
    jenis: str | None = None
    label_lat: float | None = None
    label_lon: float | None = None


@dataclass
class ReverseResult:
    """Vectorised answers: one entry per input point."""

    decision: np.ndarray  # uint8 index into DECISIONS
    kelurahan: np.ndarray  # int16 index into index.kelurahan, -1 when none
    tetangga: np.ndarray  # int16 index into index.tetangga, -1 when none
    kabkota: np.ndarray  # int16 index into index.kabkota, -1 when none
    distance_m: np.ndarray  # float32: gap/unassigned/nearest distance, NaN otherwise


def _wilayah(row: dict[str, Any]) -> Wilayah:
    return Wilayah(**{k: row.get(k) for k in Wilayah.__dataclass_fields__})


class ReverseIndex:
    """The in-memory reverse index over the 104 kelurahan, the neighbouring desa and the kab/kota outlines."""

    def __init__(self, kelurahan: Sequence[dict], tetangga: Sequence[dict], kabkota: Sequence[dict], *,
                 tolerance_m: float = 30.0, nearest_max_m: float = 25_000.0, cell_deg: float = 0.0001):
        """Build from rows carrying attributes and `wkb` (EPSG:4326); rows are sorted by kode here."""
        self.tolerance_m = float(tolerance_m)
        self.nearest_max_m = float(nearest_max_m)
        kel_rows = sorted(kelurahan, key=lambda r: r["kode"])
        tet_rows = sorted(tetangga, key=lambda r: r["kode"])
        kab_rows = sorted(kabkota, key=lambda r: r["kode"])
        self.kelurahan = [_wilayah(r) for r in kel_rows]
        self.tetangga = [_wilayah(r) for r in tet_rows]
        self.kabkota = [_wilayah(r) for r in kab_rows]
        self._kel = shapely.from_wkb([bytes(r["wkb"]) for r in kel_rows])
        self._tet = shapely.from_wkb([bytes(r["wkb"]) for r in tet_rows])
        self._kab = shapely.from_wkb([bytes(r["wkb"]) for r in kab_rows])
        for geoms in (self._kel, self._tet, self._kab):
            shapely.prepare(geoms)
        self._kel_tree = shapely.STRtree(self._kel)
        self._tet_tree = shapely.STRtree(self._tet)
        self._kab_tree = shapely.STRtree(self._kab)
        self._kel_edges = _EdgeIndex(shapely.transform(self._kel, _to_metric))
        self._kab_edges = _EdgeIndex(shapely.transform(self._kab, _to_metric))
        kab_pos = {w.kode: i for i, w in enumerate(self.kabkota)}
        self._tet_kab = np.array([kab_pos.get(w.kab_kode, -1) for w in self.tetangga], dtype=np.int16)
        self._city_kab = kab_pos.get(KOTA_TANGERANG, -1)
        self._build_grid(cell_deg)

    # ---- queries -------------------------------------------------------------------------------------------
    def lookup(self, lon: Any, lat: Any) -> ReverseResult:
        """Answer every point (arrays of lon/lat in degrees); exact on every point."""
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        code = self._grid_codes(lon, lat)
        res = ReverseResult(self._lut_dec[code], self._lut_kel[code], self._lut_tet[code], self._lut_kab[code],
                            np.full(len(lon), np.nan, dtype=np.float32))
        exact = np.flatnonzero(code == _EXACT)
        if len(exact):
            sub = self.exact(lon[exact], lat[exact])
            res.decision[exact] = sub.decision
            res.kelurahan[exact] = sub.kelurahan
            res.tetangga[exact] = sub.tetangga
            res.kabkota[exact] = sub.kabkota
            res.distance_m[exact] = sub.distance_m
        return res

    def overlapping(self, lon: float, lat: float) -> list[int]:
        """All kelurahan indexes whose polygon covers this one point (for explaining an overlap)."""
        hits = self._kel_tree.query(shapely.points(lon, lat), predicate="intersects")
        return sorted(int(i) for i in hits)

    def exact(self, lon: np.ndarray, lat: np.ndarray) -> ReverseResult:
        """The exact path: polygon predicates and metric distances, without the grid."""
        n = len(lon)
        res = ReverseResult(np.full(n, OUTSIDE, np.uint8), np.full(n, -1, np.int16), np.full(n, -1, np.int16),
                            np.full(n, -1, np.int16), np.full(n, np.nan, np.float32))
        pts = shapely.points(lon, lat)
        kel_first, kel_count = _first_hit(self._kel_tree, pts)
        hit = kel_count > 0
        res.kelurahan[hit] = kel_first[hit]
        res.decision[hit] = np.where(kel_count[hit] > 1, OVERLAP, INSIDE)
        if self._city_kab >= 0:
            res.kabkota[hit] = self._city_kab
        rest = np.flatnonzero(~hit)
        if len(rest):
            self._outside_kelurahan(res, rest, pts[rest], lon[rest], lat[rest])
        return res

    def _outside_kelurahan(self, res: ReverseResult, idx: np.ndarray, pts: np.ndarray, lon: np.ndarray,
                           lat: np.ndarray) -> None:
        tet_first, tet_count = _first_hit(self._tet_tree, pts)
        is_tet = tet_count > 0
        t = idx[is_tet]
        res.decision[t] = TETANGGA
        res.tetangga[t] = tet_first[is_tet]
        res.kabkota[t] = self._tet_kab[tet_first[is_tet]]
        left = ~is_tet
        if not left.any():
            return
        idx, pts, lon, lat = idx[left], pts[left], lon[left], lat[left]
        pm = shapely.points(*_METRIC.transform(lon, lat))
        near_i, near_d = self._kel_edges.nearest(pm, self.tolerance_m)
        gap = near_d <= self.tolerance_m
        res.decision[idx[gap]] = GAP
        res.kelurahan[idx[gap]] = near_i[gap]
        res.distance_m[idx[gap]] = near_d[gap]
        if self._city_kab >= 0:
            res.kabkota[idx[gap]] = self._city_kab
        far = ~gap
        idx, pts, pm, near_i, near_d = idx[far], pts[far], pm[far], near_i[far], near_d[far]
        if not len(idx):
            return
        kab_first, kab_count = _first_hit(self._kab_tree, pts)
        in_city = kab_first == self._city_kab
        if in_city.any():
            near_i[in_city], near_d[in_city] = self._kel_edges.nearest(pm[in_city])
        res.decision[idx[in_city]] = UNASSIGNED
        res.kelurahan[idx[in_city]] = near_i[in_city]
        res.distance_m[idx[in_city]] = near_d[in_city]
        res.kabkota[idx[in_city]] = self._city_kab
        in_kab = (kab_count > 0) & ~in_city
        res.decision[idx[in_kab]] = KABKOTA
        res.kabkota[idx[in_kab]] = kab_first[in_kab]
        none = kab_count == 0
        if none.any():
            ki, kd = self._kab_edges.nearest(pm[none], self.nearest_max_m)
            close = kd <= self.nearest_max_m
            sel = idx[none][close]
            res.decision[sel] = NEAREST_KABKOTA
            res.kabkota[sel] = ki[close]
            res.distance_m[sel] = kd[close]

    # ---- the grid ------------------------------------------------------------------------------------------
    def _grid_codes(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        fx = (lon - self._x0) * self._inv
        fy = (lat - self._y0) * self._inv
        inb = (fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny)  # NaN compares False
        # fmax/fmin map NaN to the bound, so the gather never indexes garbage; those points go exact anyway.
        ix = np.fmin(np.fmax(fx, 0), self._nx - 1).astype(np.int32)
        iy = np.fmin(np.fmax(fy, 0), self._ny - 1).astype(np.int32)
        code = self._grid[iy * self._nx + ix]
        code[~inb] = _EXACT
        return code

    def _build_grid(self, cell: float) -> None:
        x0, y0, x1, y1 = shapely.total_bounds(self._kel)
        margin = 0.01
        self._x0, self._y0 = x0 - margin, y0 - margin
        self._inv = 1.0 / cell
        self._nx = int(np.ceil((x1 + margin - self._x0) * self._inv))
        self._ny = int(np.ceil((y1 + margin - self._y0) * self._inv))
        nx, ny = self._nx, self._ny
        kel_first, kel_count = self._rasterise_centres(self._kel, cell)
        tet_first, tet_count = self._rasterise_centres(self._tet, cell)
        grid = np.full(nx * ny, _EXACT, dtype=np.uint16)
        one_kel = kel_count == 1
        grid[one_kel] = kel_first[one_kel]
        one_tet = (kel_count == 0) & (tet_count == 1)
        grid[one_tet] = _TET + tet_first[one_tet]
        nobody = np.flatnonzero((kel_count == 0) & (tet_count == 0))
        cx, cy = self._centres(nobody, cell)
        # A cell whose centre is farther than tolerance + a cell diagonal from every kelurahan has no point
        # within the tolerance; the buffer is in degrees, taken generously (1 deg >= 110.5 km here).
        reach_deg = (self.tolerance_m + cell * 111_320 * 1.5) / 110_000
        near = shapely.buffer(shapely.union_all(self._kel), reach_deg)
        shapely.prepare(near)
        far = nobody[~shapely.contains_xy(near, cx, cy)]
        cx, cy = self._centres(far, cell)
        kab_first, kab_count = _first_hit(self._kab_tree, shapely.points(cx, cy))
        ok = (kab_count == 1) & (kab_first != self._city_kab)
        grid[far[ok]] = _KAB + kab_first[ok]
        grid[self._line_cells(cell)] = _EXACT
        self._grid = grid
        self._build_luts()
        log.info("reverse grid %dx%d, %.1f%% cells exact", nx, ny, 100 * np.mean(grid == _EXACT))

    def _centres(self, flat: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
        iy, ix = np.divmod(flat, self._nx)
        return self._x0 + (ix + 0.5) * cell, self._y0 + (iy + 0.5) * cell

    def _rasterise_centres(self, geoms: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
        """Per cell: the lowest-index polygon covering its centre and how many do."""
        nx, ny = self._nx, self._ny
        first = np.full(nx * ny, 0x3FFF, dtype=np.int32)
        count = np.zeros(nx * ny, dtype=np.uint8)
        for i, g in enumerate(geoms):
            gx0, gy0, gx1, gy1 = shapely.bounds(g)
            ix0, ix1 = max(int((gx0 - self._x0) * self._inv) - 1, 0), min(int((gx1 - self._x0) * self._inv) + 2, nx)
            iy0, iy1 = max(int((gy0 - self._y0) * self._inv) - 1, 0), min(int((gy1 - self._y0) * self._inv) + 2, ny)
            if ix0 >= ix1 or iy0 >= iy1:
                continue
            xs = self._x0 + (np.arange(ix0, ix1) + 0.5) * cell
            ys = self._y0 + (np.arange(iy0, iy1) + 0.5) * cell
            gx, gy = np.meshgrid(xs, ys)
            inside = shapely.contains_xy(g, gx.ravel(), gy.ravel()).reshape(gx.shape)
            rows, cols = np.nonzero(inside)
            flat = (rows + iy0) * nx + (cols + ix0)
            count[flat] += 1
            first[flat] = np.minimum(first[flat], i)
        return first, count

    def _line_cells(self, cell: float) -> np.ndarray:
        """Flat indexes of every cell a polygon boundary may cross (a superset: those go the exact path)."""
        lines = shapely.boundary(np.concatenate([self._kel, self._tet, self._kab]))
        xy = shapely.get_coordinates(shapely.segmentize(lines, cell / 2))
        ix = np.clip(np.floor((xy[:, 0] - self._x0) * self._inv), 0, self._nx - 1).astype(np.int64)
        iy = np.clip(np.floor((xy[:, 1] - self._y0) * self._inv), 0, self._ny - 1).astype(np.int64)
        # Consecutive vertices are less than a cell apart, so the segment between them stays in the 2x2 block
        # their cells span; marking all four cells covers it (ring joins add a few harmless extra cells).
        a, b = slice(None, -1), slice(1, None)
        flat = np.concatenate([iy * self._nx + ix, iy[a] * self._nx + ix[b], iy[b] * self._nx + ix[a]])
        return np.unique(flat)

    def _build_luts(self) -> None:
        size = 0x10000
        self._lut_dec = np.full(size, OUTSIDE, np.uint8)
        self._lut_kel = np.full(size, -1, np.int16)
        self._lut_tet = np.full(size, -1, np.int16)
        self._lut_kab = np.full(size, -1, np.int16)
        n_kel, n_tet, n_kab = len(self._kel), len(self._tet), len(self._kab)
        self._lut_dec[:n_kel] = INSIDE
        self._lut_kel[:n_kel] = np.arange(n_kel)
        self._lut_kab[:n_kel] = self._city_kab
        self._lut_dec[_TET:_TET + n_tet] = TETANGGA
        self._lut_tet[_TET:_TET + n_tet] = np.arange(n_tet)
        self._lut_kab[_TET:_TET + n_tet] = self._tet_kab
        self._lut_dec[_KAB:_KAB + n_kab] = KABKOTA
        self._lut_kab[_KAB:_KAB + n_kab] = np.arange(n_kab)

    @property
    def exact_cell_share(self) -> float:
        """Share of grid cells that defer to the exact path (for logs and benchmarks)."""
        return float(np.mean(self._grid == _EXACT))

    def describe(self, res: ReverseResult, i: int) -> dict[str, Any]:
        """One point's answer as a plain dict (the API's reverse response body)."""
        dec = int(res.decision[i])
        out: dict[str, Any] = {"in_kota_tangerang": dec in (INSIDE, GAP, OVERLAP, UNASSIGNED),
                               "decision": DECISIONS[dec]}
        kel = int(res.kelurahan[i])
        dist = float(res.distance_m[i])
        if kel >= 0 and dec != UNASSIGNED:
            w = self.kelurahan[kel]
            out["kelurahan"] = {"kode": w.kode, "nama": w.nama}
            out["kecamatan"] = {"kode": w.kec_kode, "nama": w.kec_nama}
            out["kodepos"] = w.kodepos
        else:
            out["kelurahan"] = out["kecamatan"] = out["kodepos"] = None
        if dec in (GAP, UNASSIGNED, NEAREST_KABKOTA):
            out["distance_m"] = round(dist, 1)
        if dec == UNASSIGNED:
            w = self.kelurahan[kel]
            out["nearest_kelurahan"] = {"kode": w.kode, "nama": w.nama, "distance_m": round(dist, 1)}
        tet = int(res.tetangga[i])
        if tet >= 0:
            w = self.tetangga[tet]
            out["desa_kelurahan"] = {"kode": w.kode, "nama": w.nama, "jenis": w.jenis}
            out["kecamatan"] = {"kode": w.kec_kode, "nama": w.kec_nama}
            out["kodepos"] = w.kodepos
        kab = int(res.kabkota[i])
        out["kabkota"] = {"kode": self.kabkota[kab].kode, "nama": self.kabkota[kab].nama} if kab >= 0 else None
        out["message"] = _message(dec, out)
        return out


def _message(dec: int, out: dict[str, Any]) -> str:
    """A short Bahasa Indonesia sentence for the citizen app."""
    if dec in (INSIDE, OVERLAP):
        return f"Di Kelurahan {out['kelurahan']['nama']}, Kecamatan {out['kecamatan']['nama']}, Kota Tangerang."
    if dec == GAP:
        return (f"Di celah batas; kelurahan terdekat {out['kelurahan']['nama']} "
                f"({out['distance_m']} m), Kota Tangerang.")
    if dec == UNASSIGNED:
        return "Di dalam Kota Tangerang, tetapi tidak ada kelurahan dalam batas toleransi."
    if dec == TETANGGA:
        d = out["desa_kelurahan"]
        return (f"Di luar Kota Tangerang: {d['jenis'] or 'Desa/Kelurahan'} {d['nama']}, "
                f"Kecamatan {out['kecamatan']['nama']}, {out['kabkota']['nama']}.")
    if dec == KABKOTA:
        return f"Di luar Kota Tangerang: wilayah {out['kabkota']['nama']}."
    if dec == NEAREST_KABKOTA:
        return f"Di luar wilayah yang dicakup; kab/kota terdekat {out['kabkota']['nama']} ({out['distance_m']} m)."
    return "Di luar wilayah yang dicakup Satu Peta."


def _to_metric(xy: np.ndarray) -> np.ndarray:
    x, y = _METRIC.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _first_hit(tree: shapely.STRtree, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point: the lowest tree index whose geometry covers it, and how many do."""
    n = len(pts)
    first = np.full(n, np.iinfo(np.int32).max, dtype=np.int64)
    if n == 0:
        return first, np.zeros(0, dtype=np.int64)
    # Bounding-box candidates first, then the prepared polygons test the points (much faster than letting
    # the tree prepare every point for an `intersects` predicate).
    pi, gi = tree.query(pts)
    xy = shapely.get_coordinates(pts)
    geoms = tree.geometries
    hit = shapely.intersects_xy(geoms[gi], xy[pi, 0], xy[pi, 1])
    pi, gi = pi[hit], gi[hit]
    np.minimum.at(first, pi, gi)
    count = np.bincount(pi, minlength=n)
    return first, count


class _EdgeIndex:
    """Polygon boundaries cut into single segments: nearest-polygon queries for points outside them all.

    Outside a polygon its distance is the distance to its boundary; a tree of short segments answers that
    far faster than distances to whole (2,000-vertex) kab/kota polygons.
    """

    def __init__(self, polygons: np.ndarray):
        """Index the boundary segments of these (metric) polygons."""
        rings = shapely.get_parts(shapely.boundary(polygons), return_index=True)
        lines, owner_of_line = rings
        coords, line_of_coord = shapely.get_coordinates(lines, return_index=True)
        same = line_of_coord[:-1] == line_of_coord[1:]
        starts, ends = coords[:-1][same], coords[1:][same]
        self._owner = owner_of_line[line_of_coord[:-1][same]]
        segs = shapely.linestrings(np.stack([starts, ends], axis=1))
        self._tree = shapely.STRtree(segs)

    def nearest(self, pts: np.ndarray, max_distance: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each point: the nearest polygon (lowest index on ties) and its distance; -1/inf beyond max."""
        n = len(pts)
        idx = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        if n == 0:
            return idx, dist
        (pi, si), d = self._tree.query_nearest(pts, max_distance=max_distance, return_distance=True,
                                               all_matches=True)
        owner = self._owner[si]
        order = np.lexsort((owner, pi))[::-1]  # the last write wins: make it the lowest owner per point
        idx[pi[order]] = owner[order]
        dist[pi[order]] = d[order]
        return idx, dist
