"""Laporan photos: real images made by Pillow here, cleaned by geo_api.media, posted as real multipart over a
live server, served back at /media/; hostile files refused with nothing stored."""

from __future__ import annotations

import io
import os
import struct
import uuid
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageCms

from geo_api import media, media_upload
from geo_api.apikeys import key_hash, new_key
from geo_api.db import connect
from geo_api.services import HeavyWork
from tests.conftest import LiveServer, run_async

BASE = "/open311/v2"
POINT = {"lat": "-6.18994", "long": "106.62483"}  # Kelurahan Karawaci
MAX_BYTES = 400_000
MAX_FILES = 3
MAX_PIXELS = 4_000_000
LIMITS = media.Limits(max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, max_side=1024, thumb_side=160)
SECRET = b"RAHASIA-PELAPOR"


# ---------------------------------------------------------------------------------------------------- images
def _exif(orientation: int | None = None, gps: tuple[float, float] | None = None) -> Image.Exif:
    ex = Image.Exif()
    ex[0x010F] = "SECRET-CAMERA"  # Make
    ex[0x0131] = SECRET.decode()  # Software
    if orientation:
        ex[0x0112] = orientation
    if gps:
        lat, lon = gps

        def dms(v: float) -> tuple[float, float, float]:
            v = abs(v)
            d = int(v)
            m = int((v - d) * 60)
            return (float(d), float(m), round(((v - d) * 60 - m) * 60, 4))

        ex[0x8825] = {1: "S" if lat < 0 else "N", 2: dms(lat), 3: "W" if lon < 0 else "E", 4: dms(lon)}
    return ex


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg(size=(64, 32), *, orientation=None, gps=None, noise=False, quality=90) -> bytes:
    """A JPEG with every kind of metadata a phone writes: EXIF (GPS, camera, orientation), XMP, ICC, comment."""
    im = Image.new("RGB", size, (200, 30, 30))
    if noise:
        im = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    im.paste((10, 200, 10), (0, 0, size[0] // 4, size[1] // 4))  # a green corner: shows where "up" went
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, exif=_exif(orientation, gps), icc_profile=_icc(), comment=SECRET,
            xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + SECRET + b"</x:xmpmeta>")
    return out.getvalue()


def png(size=(48, 24), mode="RGBA") -> bytes:
    """A PNG with text chunks, EXIF and an ICC profile."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", SECRET.decode())
    info.add_text("Comment", SECRET.decode(), zip=True)
    info.add_itxt("XML:com.adobe.xmp", SECRET.decode())
    out = io.BytesIO()
    Image.new(mode, size, (1, 2, 3, 128) if mode == "RGBA" else (1, 2, 3)).save(
        out, "PNG", pnginfo=info, exif=_exif(gps=(-6.2, 106.6)), icc_profile=_icc())
    return out.getvalue()


def webp(size=(48, 24)) -> bytes:
    """A WebP with EXIF, XMP and ICC."""
    out = io.BytesIO()
    Image.new("RGB", size, (9, 9, 200)).save(out, "WEBP", exif=_exif(gps=(-6.2, 106.6)), icc_profile=_icc(),
                                            xmp=b"<x>" + SECRET + b"</x>")
    return out.getvalue()


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A tiny PNG whose header declares a huge image (IHDR rewritten, CRC fixed): a decompression bomb."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "GIF")
    return out.getvalue()


def zip_bytes() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


def no_metadata(data: bytes) -> None:
    """The bytes carry no metadata at all: structure walk, Pillow's view, and no secret text anywhere."""
    media.assert_clean(data)
    assert SECRET not in data and b"SECRET-CAMERA" not in data
    assert b"Exif\x00\x00" not in data and b"http://ns.adobe.com/xap" not in data
    with Image.open(io.BytesIO(data)) as im:
        assert not len(im.getexif())
        assert not ({"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp", "Author"} & set(im.info))


# ---------------------------------------------------------------------------------------------------- pure
def test_a_phone_jpeg_is_cleaned_turned_upright_and_its_gps_offered():
    src = jpeg((64, 32), orientation=6, gps=(-6.17123, 106.63456))
    assert SECRET in src and b"Exif" in src  # the input really carries it
    p = media.clean(src, LIMITS)
    assert (p.ext, p.content_type) == ("jpg", "image/jpeg")
    no_metadata(p.data)
    no_metadata(p.thumb)
    with Image.open(io.BytesIO(p.data)) as im:
        assert im.size == (32, 64) == (p.width, p.height)  # orientation 6: rotated 90 degrees
        im = im.convert("RGB")
        # orientation 6 (rotate 270 to show): the green top-left corner is now top-right
        assert im.getpixel((28, 4))[1] > 150 and im.getpixel((4, 4))[1] < 100
    assert p.gps == pytest.approx((-6.17123, 106.63456), abs=1e-4)
    assert p.name == f"{p.digest}.jpg" and len(p.digest) == 64


def test_png_and_webp_keep_their_format_and_lose_every_chunk():
    for data, ext in ((png(), "png"), (png(mode="RGB"), "png"), (webp(), "webp")):
        assert SECRET in data
        p = media.clean(data, LIMITS)
        assert p.ext == ext
        no_metadata(p.data)
        no_metadata(p.thumb)
        assert p.gps == pytest.approx((-6.2, 106.6), abs=1e-4)
    with Image.open(io.BytesIO(media.clean(png(), LIMITS).data)) as im:
        assert im.mode == "RGBA" and im.getpixel((0, 0))[3] == 128  # transparency kept


def test_large_photos_are_scaled_and_thumbnailed():
    p = media.clean(png((1600, 1200), mode="RGB"), LIMITS)
    assert max(p.width, p.height) == 1024
    # a large JPEG is decoded scaled down by libjpeg (1/2 here) as long as that keeps 3/4 of max_side
    big = media.clean(jpeg((1600, 1200)), LIMITS)
    assert (big.width, big.height) == (800, 600)
    wide = media.clean(jpeg((3000, 1000)), LIMITS)  # 1/2 would be 1500: still above max_side, then resized
    assert (wide.width, wide.height) == (1024, 341)
    with Image.open(io.BytesIO(p.thumb)) as t:
        assert max(t.size) == 160


HOSTILE = [
    ("zero bytes", b"", "empty", False),
    ("text named .jpg", b"<html><script>alert(1)</script></html>", "not a jpeg, png or webp", False),
    ("gif", gif(), "not a jpeg, png or webp", False),
    ("zip", zip_bytes(), "not a jpeg, png or webp", False),
    ("bomb", png_bomb(), "pixels", True),
    ("too many pixels", None, "pixels", True),
    ("jpeg+zip polyglot", jpeg() + zip_bytes(), "follow the end", False),
    ("jpeg+html", jpeg() + b"<script>alert(document.cookie)</script>", "follow the end", False),
    ("png+js", png() + b"/*polyglot*/alert(1)", "follow the end", False),
    ("webp+html", webp() + b"<html></html>", "follow the end", False),
    ("truncated jpeg", jpeg((200, 200), noise=True)[:3000], "truncated", False),
    ("truncated png", png((200, 200))[:-40], "truncated", False),
    ("oversized file", jpeg((900, 900), noise=True, quality=98), "bytes", True),
]


@pytest.mark.parametrize("name,data,words,too_large", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_are_refused_naming_the_problem(name, data, words, too_large):
    if data is None:
        data = jpeg((2100, 2000))  # 4.2 MP > MAX_PIXELS, small file
    with pytest.raises(media.BadPhoto) as exc:
        media.clean(data, LIMITS)
    assert words in exc.value.detail.lower(), exc.value.detail
    assert exc.value.too_large is too_large


def test_store_writes_atomically_and_names_by_content(tmp_path):
    store = media.MediaStore(tmp_path / "m")
    p = media.clean(jpeg(), LIMITS)
    assert store.put([p]) == [p.name, p.thumb_name]
    assert store.path(p.name).read_bytes() == p.data and store.path(p.thumb_name).read_bytes() == p.thumb
    assert store.put([p]) == []  # the same photo again: already there, nothing new
    assert not list((tmp_path / "m").rglob(".tmp-*"))
    for bad in ("../etc/passwd", "..", p.digest + ".exe", p.digest[:63] + ".jpg", p.name.upper(), p.name + "/x"):
        assert store.path(bad) is None


# ---------------------------------------------------------------------------------------------------- HTTP
@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def photo_settings(settings, media_dir):
    return settings.model_copy(update={"media_dir": media_dir, "media_max_bytes": MAX_BYTES,
                                       "media_max_files": MAX_FILES, "media_max_pixels": MAX_PIXELS,
                                       "media_max_side": 1024, "media_thumb_side": 160})


@pytest.fixture(scope="module")
def server(photo_settings, katalog):
    with LiveServer(photo_settings) as s:
        yield s


@pytest.fixture()
def http(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def _key(settings, role: str, opd: str | None = None) -> str:
    key = new_key()
    with connect(settings) as db:
        db.execute("INSERT INTO api_key (name, role, key_hash, opd_kode) VALUES (%s, %s, %s, %s)",
                   (f"test-media-{role}-{uuid.uuid4().hex[:6]}", role, key_hash(key), opd))
        db.commit()
    return key


@pytest.fixture(scope="module")
def citizen(settings, katalog):
    return _key(settings, "citizen_app")


def post(http, key, files, **fields):
    marker = f"media-test-{uuid.uuid4().hex[:10]}"
    data = {"api_key": key, "service_code": "sampah_menumpuk", **POINT, "description": marker, **fields}
    r = http.post(f"{BASE}/requests.json", data=data, files=files)
    return r, marker


def rows_with(settings, marker: str) -> int:
    with connect(settings) as db:
        return db.execute("SELECT count(*) AS n FROM laporan WHERE deskripsi = %s", (marker,)).fetchone()["n"]


def stored_files(media_dir: Path) -> set[str]:
    return {p.name for p in media_dir.rglob("*") if p.is_file()}


def test_post_with_photos_serves_clean_copies_and_points_media_url_at_them(http, citizen, settings, media_dir):
    files = [("media", ("IMG_0001.JPG", jpeg((640, 480), orientation=6, gps=(-6.17, 106.63)), "image/jpeg")),
             ("media", ("layar.png", png(), "image/png")),
             ("media", ("x.webp", webp(), "application/octet-stream"))]  # the declared type is not believed
    r, marker = post(http, citizen, files)
    assert r.status_code == 200, r.text
    body = r.json()[0]
    rid = body["service_request_id"]
    assert len(body["media_urls"]) == 3 and body["media_url"] == body["media_urls"][0]
    assert body["media_url"].startswith(str(http.base_url).rstrip("/") + "/media/")
    assert body["lokasi_saran"] == pytest.approx({"lat": -6.17, "long": 106.63}, abs=1e-4)
    for url, thumb, ctype in zip(body["media_urls"], body["thumbnail_urls"],
                                 ("image/jpeg", "image/png", "image/webp"), strict=True):
        got = http.get(url)
        assert got.status_code == 200 and got.headers["content-type"] == ctype
        assert "immutable" in got.headers["cache-control"] and "max-age=31536000" in got.headers["cache-control"]
        assert got.headers["x-content-type-options"] == "nosniff"
        no_metadata(got.content)
        small = http.get(thumb)
        assert small.status_code == 200 and small.headers["content-type"] == ctype
        with Image.open(io.BytesIO(small.content)) as t:
            assert max(t.size) <= 160
        assert http.head(url).status_code == 200
    with Image.open(io.BytesIO(http.get(body["media_url"]).content)) as im:
        assert im.size == (480, 640)  # upright
    read = http.get(f"{BASE}/requests/{rid}.json").json()[0]
    assert read["media_url"] == body["media_url"]
    assert rid in {x["service_request_id"] for x in http.get(f"{BASE}/requests.json").json()
                   if x["media_url"] == body["media_url"]}
    with connect(settings) as db:
        entry = db.execute("SELECT media FROM laporan_status WHERE laporan_id = %s ORDER BY pada, id LIMIT 1",
                           (int(rid),)).fetchone()["media"]
    assert [e["url"] for e in entry] == ["/media/" + u.rsplit("/", 1)[1] for u in body["media_urls"]]
    # the GPS position was offered, never stored: not in the laporan, not in any file
    for name in stored_files(media_dir):
        assert SECRET not in (next(media_dir.rglob(name))).read_bytes()


def test_post_with_media_url_only_still_works(http, citizen):
    r, _ = post(http, citizen, None, media_url="https://contoh.example/foto.jpg")
    assert r.status_code == 200, r.text
    rid = r.json()[0]["service_request_id"]
    assert "media_urls" not in r.json()[0]
    assert http.get(f"{BASE}/requests/{rid}.json").json()[0]["media_url"] == "https://contoh.example/foto.jpg"


def test_xml_answer_carries_the_photo_links(http, citizen):
    r = http.post(f"{BASE}/requests.xml", data={"api_key": citizen, "service_code": "pkl", **POINT},
                  files=[("media", ("a.jpg", jpeg(), "image/jpeg"))])
    assert r.status_code == 200, r.text
    assert b"<media_url>http" in r.content and b"/media/" in r.content


HTTP_HOSTILE = [(name, data, words) for name, data, words, _ in HOSTILE if data is not None and name != "zero bytes"]


@pytest.mark.parametrize("name,data,words", HTTP_HOSTILE, ids=[h[0] for h in HTTP_HOSTILE])
def test_hostile_uploads_are_4xx_and_nothing_is_stored(http, citizen, settings, media_dir, name, data, words):
    before = stored_files(media_dir)
    good = ("media", ("ok.jpg", jpeg((32, 32)), "image/jpeg"))
    r, marker = post(http, citizen, [good, ("media", ("foto.jpg", data, "image/jpeg"))])
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    desc = r.json()[0]["description"]
    assert "media #2" in desc and "foto.jpg" in desc and words in desc.lower(), desc
    assert rows_with(settings, marker) == 0
    assert stored_files(media_dir) == before


def test_zero_bytes_too_many_files_and_wrong_part_are_refused(http, citizen, settings, media_dir):
    before = stored_files(media_dir)
    r, marker = post(http, citizen, [("media", ("kosong.jpg", b"", "image/jpeg"))])
    assert r.status_code == 400 and "empty" in r.json()[0]["description"], r.text
    assert rows_with(settings, marker) == 0
    many = [("media", (f"{i}.jpg", jpeg((16 + i, 16)), "image/jpeg")) for i in range(MAX_FILES + 1)]
    r, marker = post(http, citizen, many)
    # Open311 knows 400, 403 and 404 only: every other 4xx is answered 400 there (geo_api/open311_format.py)
    assert r.status_code == 400 and f"at most {MAX_FILES} photos" in r.json()[0]["description"], r.text
    assert rows_with(settings, marker) == 0
    r, marker = post(http, citizen, [("description", ("d.txt", b"hello", "text/plain"))])
    # a 422 (a text field sent as a file) is answered 400 under Open311, as every 4xx but 403 and 404
    assert r.status_code == 400 and "description" in r.json()[0]["description"], r.text
    assert stored_files(media_dir) == before


def test_edge_lets_photo_bodies_through_and_caps_bigger_ones(http, citizen, settings, media_dir):
    big = jpeg((600, 600), noise=True, quality=90)
    assert 0.5 * MAX_BYTES < len(big) < MAX_BYTES  # several of these exceed the plain Open311 64 KiB limit
    files = [("media", (f"{i}.jpg", big, "image/jpeg")) for i in range(2)]
    r, marker = post(http, citizen, files)
    assert r.status_code == 200, r.text
    assert rows_with(settings, marker) == 1
    before = stored_files(media_dir)
    huge = os.urandom(MAX_FILES * MAX_BYTES + 200_000)
    r, marker = post(http, citizen, [("media", ("besar.jpg", huge, "image/jpeg"))])
    assert r.status_code == 413, r.text
    desc = r.json()[0]["description"]
    assert "larger than" in desc and f"at most {MAX_FILES} files" in desc and f"{MAX_BYTES} bytes each" in desc
    assert rows_with(settings, marker) == 0 and stored_files(media_dir) == before
    # a plain (urlencoded) body keeps Open311's 64 KiB
    r = http.post(f"{BASE}/requests.json", data={"api_key": citizen, "service_code": "pkl", **POINT,
                                                 "description": "x" * 70_000})
    assert r.status_code == 413, r.text


def test_media_paths_outside_the_store_are_404(http):
    for path in ("/media/../../etc/passwd", "/media/..%2F..%2Fetc%2Fpasswd", "/media/" + "0" * 64 + ".jpg",
                 "/media/" + "0" * 64 + ".exe", "/media/%2e%2e", "/media/x.jpg", "/media/" + "A" * 64 + ".jpg"):
        r = http.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert "image" not in r.headers.get("content-type", "")


def test_an_unwritable_store_rolls_the_report_back(settings, katalog, citizen, tmp_path):
    blocker = tmp_path / "bukan-folder"
    blocker.write_text("a file where the media directory should be")
    broken = settings.model_copy(update={"media_dir": blocker / "media"})
    with LiveServer(broken) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        r, marker = post(c, citizen, [("media", ("a.jpg", jpeg(), "image/jpeg"))])
        assert r.status_code == 503, r.text
        assert "photo store" in r.json()[0]["description"]
        assert rows_with(settings, marker) == 0
        ok, marker = post(c, citizen, None)  # without photos the same server still takes reports
        assert ok.status_code == 200 and rows_with(settings, marker) == 1


def test_a_failed_transaction_removes_the_files_it_wrote(settings, tmp_path):
    store = media.MediaStore(tmp_path / "m")
    shared = media.clean(jpeg((20, 20)), LIMITS)
    store.put([shared])  # already stored for another laporan: must survive
    fresh = media.clean(jpeg((30, 30)), LIMITS)

    async def failing(conn):
        with pytest.raises(Exception):  # noqa: B017 - whatever the database says, the files must go
            async with media_upload.stored(conn, store, [shared, fresh], HeavyWork(1)):
                await conn.execute("INSERT INTO laporan (layanan_kode) VALUES ('tidak_ada')")
        return True

    assert run_async(settings, failing)
    assert store.path(fresh.name).exists() is False and store.path(fresh.thumb_name).exists() is False
    assert store.path(shared.name).exists() and store.path(shared.thumb_name).exists()


# ---------------------------------------------------------------------------------------------------- after photos
def _officer_for(settings, rid: str) -> dict[str, str]:
    with connect(settings) as db:
        opd = db.execute("SELECT opd_kode FROM laporan WHERE id = %s", (int(rid),)).fetchone()["opd_kode"]
    return {"X-API-Key": _key(settings, "opd_officer", opd)}


def test_an_officer_attaches_after_photos_to_a_status_change(http, citizen, settings, media_dir):
    r, _ = post(http, citizen, [("media", ("sebelum.jpg", jpeg((40, 30)), "image/jpeg"))])
    rid = r.json()[0]["service_request_id"]
    h = _officer_for(settings, rid)
    before = stored_files(media_dir)
    # a hostile "after" photo: 4xx naming it, the status unchanged, nothing stored
    bad = http.post(f"/routing/laporan/{rid}/status", headers=h, data={"status": "fixed", "catatan": "Beres"},
                    files=[("media", ("sesudah.jpg", jpeg() + zip_bytes(), "image/jpeg"))])
    assert bad.status_code == 400 and bad.json()["parameter"] == "media", bad.text
    assert "media #1" in bad.json()["detail"] and "follow the end" in bad.json()["detail"]
    assert http.get(f"/routing/laporan/{rid}", headers=h).json()["status"] == "open"
    # a move the transitions refuse: 409, and the photo it carried is not kept
    refused = http.post(f"/routing/laporan/{rid}/status", headers=h, data={"status": "reopened"},
                        files=[("media", ("s.jpg", jpeg((33, 33)), "image/jpeg"))])
    assert refused.status_code == 409, refused.text
    assert stored_files(media_dir) == before
    ok = http.post(f"/routing/laporan/{rid}/status", headers=h,
                   data={"status": "fixed", "catatan": "Sampah sudah diangkut", "catatan_internal": "truk B 1234"},
                   files=[("media", ("sesudah.jpg", jpeg((64, 48), gps=(-6.19, 106.62)), "image/jpeg")),
                          ("media", ("sesudah2.png", png(), "image/png"))])
    assert ok.status_code == 200, ok.text
    entry = ok.json()["riwayat_status"][-1]
    assert entry["status"] == "fixed" and [m["type"] for m in entry["media"]] == ["image/jpeg", "image/png"]
    for m in entry["media"]:
        got = http.get(m["url"])
        assert got.status_code == 200 and got.headers["content-type"] == m["type"]
        no_metadata(got.content)
        assert http.get(m["thumb_url"]).status_code == 200
    # the public history and the updates feed link the first after photo, absolute, and never the internal note
    root = str(http.base_url).rstrip("/")
    hist = http.get(f"{BASE}/requests/{rid}.json").json()[0]["riwayat"]
    fixed = [u for u in hist if u["status"] == "fixed"]
    assert fixed and fixed[0]["media_url"] == root + entry["media"][0]["url"], hist
    since = (datetime.fromisoformat(fixed[0]["updated_datetime"]) - timedelta(seconds=1)).isoformat()
    feed = http.get(f"{BASE}/servicerequestupdates.json", params={"start_date": since}).json()
    mine = [u for u in feed if u["service_request_id"] == rid and u["status"] == "fixed"]
    assert mine and mine[0]["media_url"] == root + entry["media"][0]["url"]
    assert "truk B 1234" not in str(hist) + str(feed)
    assert http.get(mine[0]["media_url"]).status_code == 200
    # JSON bodies work as before
    js = http.post(f"/routing/laporan/{rid}/status", headers=h, json={"status": "closed", "catatan": "Selesai"})
    assert js.status_code == 200 and js.json()["riwayat_status"][-1]["media"] == [], js.text


def test_status_change_body_limits(http, citizen, settings):
    r, _ = post(http, citizen, None)
    rid = r.json()[0]["service_request_id"]
    h = _officer_for(settings, rid)
    huge = os.urandom(MAX_FILES * MAX_BYTES + 200_000)
    r = http.post(f"/routing/laporan/{rid}/status", headers=h, data={"status": "fixed"},
                  files=[("media", ("besar.jpg", huge, "image/jpeg"))])
    assert r.status_code == 413 and f"{MAX_BYTES} bytes each" in r.json()["detail"], r.text
    # a JSON body keeps the default limit, and a broken one is a 422 naming the body
    r = http.post(f"/routing/laporan/{rid}/status", headers={**h, "Content-Type": "application/json"},
                  content=b"{not json")
    assert r.status_code == 422 and "body" in r.text, r.text
    r = http.post(f"/routing/laporan/{rid}/status", headers=h, json={"catatan": "tanpa status"})
    assert r.status_code == 422 and "status" in r.json()["detail"], r.text


def _encoded(im: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


MODES = [
    ("cmyk jpeg", lambda: _encoded(Image.new("CMYK", (30, 20), (0, 255, 255, 0)), "JPEG"), "jpg", "RGB"),
    ("grey jpeg", lambda: _encoded(Image.new("L", (30, 20), 90), "JPEG"), "jpg", "L"),
    ("palette png with transparency", lambda: _encoded(Image.new("P", (30, 20), 3), "PNG", transparency=3), "png",
     "RGBA"),
    ("16-bit png", lambda: _encoded(Image.new("I;16", (30, 20), 40000), "PNG"), "png", "L"),
    ("1-bit png", lambda: _encoded(Image.new("1", (30, 20), 1), "PNG"), "png", "L"),
    ("lossless webp with alpha", lambda: _encoded(Image.new("RGBA", (30, 20), (1, 2, 3, 4)), "WEBP", lossless=True),
     "webp", "RGBA"),
    ("png named and typed as jpeg", lambda: png(), "png", "RGBA"),
]


@pytest.mark.parametrize("name,make,ext,mode", MODES, ids=[m[0] for m in MODES])
def test_every_pixel_mode_is_stored_in_a_mode_its_format_keeps(name, make, ext, mode):
    p = media.clean(make(), LIMITS)
    assert p.ext == ext
    no_metadata(p.data)
    with Image.open(io.BytesIO(p.data)) as im:
        assert im.mode == mode and im.size == (p.width, p.height)
        if name == "16-bit png":
            assert im.getpixel((0, 0)) == 40000 // 257  # scaled to 8 bits, not clipped to white


# ---------------------------------------------------------------------------------------------------- pool
class _PoolWatch(HeavyWork):
    """The app's own heavy threads, noting how many pooled connections are out when a photo decode starts."""

    def __init__(self, pool, threads: int):
        super().__init__(threads)
        self.pool, self.out_at_decode = pool, []

    async def run(self, fn, /, *args, **kwargs):
        """Run fn as HeavyWork does; for media.clean, first note the connections checked out of the pool."""
        if fn is media.clean:
            stats = self.pool.get_stats()
            self.out_at_decode.append(stats["pool_size"] - stats["pool_available"])
        return await super().run(fn, *args, **kwargs)


def test_no_pooled_connection_is_held_while_photos_are_decoded(photo_settings, settings, citizen):
    """Every photo route decodes and re-encodes before it borrows a connection: on a quiet server (its LAKSA
    timer off, a web-form rate-limit bucket of its own) none is checked out at the moment a decode starts, and
    each write still lands."""
    from geo_api.services import services as services_of

    quiet = photo_settings.model_copy(update={"laksa_timer_seconds": 0, "lapor_burst": 100_000,
                                              "lapor_per_jam": 1_000_000.0})  # its own web-form bucket
    big = jpeg((600, 600), noise=True, quality=90)  # a large, slow-to-decode photo close to the size limit
    assert 0.5 * MAX_BYTES < len(big) < MAX_BYTES
    with LiveServer(quiet) as s, httpx.Client(base_url=s.url, timeout=60) as c:
        state = s.server.config.app.state
        svc = services_of(state)
        watch = svc.heavy = _PoolWatch(state.pool, svc.heavy.threads)
        r, marker = post(c, citizen, [("media", ("besar.jpg", big, "image/jpeg"))])  # Open311 intake
        assert r.status_code == 200 and rows_with(settings, marker) == 1, r.text
        rid, kode = r.json()[0]["service_request_id"], r.json()[0]["kode_lacak"]
        h = _officer_for(settings, rid)
        r = c.post(f"/routing/laporan/{rid}/status", headers=h, data={"status": "in_progress"},
                   files=[("media", ("sesudah.jpg", big, "image/jpeg"))])  # an officer's after photo
        assert r.status_code == 200 and len(r.json()["riwayat_status"][-1]["media"]) == 1, r.text
        token = c.get("/lapor").cookies["lapor_csrf"]
        r = c.post(f"/lacak/{rid}/komentar", data={"csrf": token, "kode_lacak": kode, "tanggapan": "foto lagi"},
                   files=[("media", ("lagi.jpg", big, "image/jpeg"))], follow_redirects=False)  # the reporter's
        assert r.status_code == 303, r.text
        r = c.post("/lapor", data={"csrf": token, "service_code": "sampah_menumpuk", **POINT,
                                   "description": f"{marker}-web"},
                   files=[("media", ("web.jpg", big, "image/jpeg"))])  # the citizen form
        assert r.status_code == 200 and rows_with(settings, f"{marker}-web") == 1, r.text
    assert watch.out_at_decode == [0, 0, 0, 0]
