"""Styles as MapServer CLASS blocks: a default per geometry type for every collection ("standar"), a
cartographic one for the bundled layers ("kartografi"). Uploaded SLD styles are checked in layers/ows/sld.py and
translated by MapServer itself (layers/ows/worker.py)."""

from __future__ import annotations

from dataclasses import dataclass

STANDARD = "standar"
CARTOGRAPHIC = "kartografi"

# symbols the classes below name (defined once in the map)
SYMBOLS = """
  SYMBOL NAME "lingkaran" TYPE ELLIPSE FILLED TRUE POINTS 1 1 END END
  SYMBOL NAME "titik_standar" TYPE PIXMAP IMAGE "titik_standar.png" END
  SYMBOL NAME "persegi" TYPE VECTOR FILLED TRUE POINTS 0 0 0 1 1 1 1 0 0 0 END END
  SYMBOL NAME "segitiga" TYPE VECTOR FILLED TRUE POINTS 0 1 0.5 0 1 1 0 1 END END
  SYMBOL NAME "salib" TYPE VECTOR FILLED TRUE
    POINTS 0.35 0 0.65 0 0.65 0.35 1 0.35 1 0.65 0.65 0.65 0.65 1 0.35 1 0.35 0.65 0 0.65 0 0.35 0.35 0.35 0.35 0 END
  END
"""


POINT_PX = 8  # the standard point: a 6 px dot of 51 136 255 in a 1 px white ring


def standard_point_png() -> bytes:
    """The standard point symbol as an antialiased RGBA PNG of POINT_PX pixels (drawn 8x larger, then reduced)."""
    import io

    from PIL import Image, ImageDraw

    big = POINT_PX * 8
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((0, 0, big - 1, big - 1), fill=(255, 255, 255, 255))
    draw.ellipse((8, 8, big - 9, big - 9), fill=(51, 136, 255, 255))
    out = io.BytesIO()
    img.resize((POINT_PX, POINT_PX), Image.LANCZOS).save(out, "PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Style:
    """A named style of a layer: its title (legend, capabilities) and its CLASS blocks."""

    name: str
    title: str
    classes: str


def _label(item: str, size: float, color: str = "40 40 40", minscale: int | None = None) -> str:
    scale = f"MAXSCALEDENOM {minscale}" if minscale else ""
    return (f'LABEL TEXT "[{item}]" TYPE TRUETYPE FONT "sans" SIZE {size} COLOR {color} OUTLINECOLOR 255 255 255 '
            f'OUTLINEWIDTH 2 POSITION CC PARTIALS FALSE MINDISTANCE 80 {scale} END')


def _standard(geometry_type: str) -> str:
    g = geometry_type.upper()
    if "POLYGON" in g:
        body = "STYLE COLOR 51 136 255 OPACITY 35 END STYLE OUTLINECOLOR 51 136 255 WIDTH 1.2 END"
    elif "LINE" in g:
        body = "STYLE COLOR 51 136 255 WIDTH 2 END"
    else:
        # the outlined dot as a ready-drawn image: AGG blits it (QGIS caches its marker the same way); an ELLIPSE
        # with an outline is rasterised twice per point, ~3x slower on 40,000 points
        body = f'STYLE SYMBOL "titik_standar" SIZE {POINT_PX} END'
    return f'CLASS NAME "Fitur" GROUP "{STANDARD}" {body} END'


_POI = (  # category, legend text, symbol, colour
    ("school", "Sekolah", "lingkaran", "31 120 180"),
    ("government_office", "Kantor pemerintahan", "persegi", "200 30 30"),
    ("hospital", "Rumah sakit", "salib", "30 150 60"),
    ("market", "Pasar", "segitiga", "240 140 0"),
    ("industrial", "Kawasan industri", "persegi", "110 110 110"),
)


def _poi() -> str:
    out = []
    for cat, title, symbol, colour in _POI:
        out.append(f'CLASS NAME "{title}" GROUP "{CARTOGRAPHIC}" EXPRESSION ("[category]" eq "{cat}") '
                   f'STYLE SYMBOL "{symbol}" SIZE 9 COLOR {colour} OUTLINECOLOR 255 255 255 WIDTH 1 END END')
    out.append(f'CLASS NAME "Lainnya" GROUP "{CARTOGRAPHIC}" '
               'STYLE SYMBOL "lingkaran" SIZE 6 COLOR 150 150 150 OUTLINECOLOR 255 255 255 WIDTH 1 END END')
    return "\n".join(out)


_CARTOGRAPHIC = {
    "kelurahan": ("Batas kelurahan dan namanya",
                  f'CLASS NAME "Kelurahan" GROUP "{CARTOGRAPHIC}" STYLE COLOR 255 250 230 END '
                  f'STYLE OUTLINECOLOR 120 100 80 WIDTH 0.8 END {_label("nama", 7.5, minscale=120000)} END'),
    "kecamatan": ("Batas kecamatan (tebal) dan namanya",
                  f'CLASS NAME "Kecamatan" GROUP "{CARTOGRAPHIC}" STYLE OUTLINECOLOR 90 40 40 WIDTH 2.6 END '
                  f'{_label("nama", 10, "90 40 40")} END'),
    "batas_kota": ("Batas Kota Tangerang",
                   f'CLASS NAME "Batas kota" GROUP "{CARTOGRAPHIC}" STYLE OUTLINECOLOR 170 0 0 WIDTH 3 '
                   'PATTERN 10 4 END END END'),
    "kabkota_sekitar": ("Kab/kota sekitar, abu-abu",
                        f'CLASS NAME "Kab/kota sekitar" GROUP "{CARTOGRAPHIC}" STYLE COLOR 235 235 235 END '
                        f'STYLE OUTLINECOLOR 160 160 160 WIDTH 1 END {_label("nama", 8, "110 110 110")} END'),
    "tetangga_desa_kelurahan": ("Desa/kelurahan tetangga, abu-abu",
                                f'CLASS NAME "Desa/kelurahan tetangga" GROUP "{CARTOGRAPHIC}" '
                                'STYLE COLOR 240 240 240 END STYLE OUTLINECOLOR 180 180 180 WIDTH 0.6 END END'),
    "gazetteer": ("Titik gazetir",
                  f'CLASS NAME "Gazetir" GROUP "{CARTOGRAPHIC}" STYLE SYMBOL "lingkaran" SIZE 4 '
                  'COLOR 90 90 90 END END'),
    "poi": ("Titik penting menurut jenis", _poi()),
}


def styles_for(collection_id: str, kind: str, geometry_type: str) -> list[Style]:
    """The built-in styles of a collection, its default first (cartographic for bundled layers)."""
    standard = Style(STANDARD, "Standar (menurut jenis geometri)", _standard(geometry_type))
    carto = _CARTOGRAPHIC.get(collection_id) if kind == "bundled" else None
    if carto is None:
        return [standard]
    return [Style(CARTOGRAPHIC, carto[0], carto[1]), standard]
