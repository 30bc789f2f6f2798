"""A page that answers a page: a bad filter on a map page is an HTML page in Bahasa that keeps what was typed."""

from __future__ import annotations

from collections.abc import Mapping

from maps.base import esc, tanggal_field

_STYLE = ("body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem;color:#1a1a1a}"
          "h1{font-size:1.4rem}.sp-galat{border-left:4px solid #b00020;background:#fdecee;padding:.6rem .8rem}"
          "label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem;max-width:100%}"
          "button{font:inherit;padding:.4rem 1rem}a{color:#0b57d0}")


def date_range_page(action: str, title: str, typed: Mapping[str, str | None]) -> str:
    """The form again, with the dates (and the other filters, hidden) exactly as typed, and the reason why."""
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
                     for k, v in typed.items() if k not in ("dari", "sampai") and v)
    return ('<!DOCTYPE html><html lang="id"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
            f"<title>Periode tidak valid — {esc(title)}</title><style>{_STYLE}</style></head><body><main>"
            f"<h1>{esc(title)}</h1>"
            '<p class="sp-galat" role="alert" id="galat">Tanggal akhir sebelum tanggal awal. '
            "Perbaiki periode lalu tampilkan lagi.</p>"
            f'<form method="get" action="{esc(action)}">{hidden}'
            f'<label>Dari {tanggal_field("dari", typed.get("dari"))}</label>'
            f'<label>Sampai {tanggal_field("sampai", typed.get("sampai"))[:-1]} '
            'aria-invalid="true" aria-describedby="galat"></label>'
            '<button type="submit">Tampilkan</button></form>'
            '<p><a href="/peta">Kembali ke daftar peta</a></p></main></body></html>')
