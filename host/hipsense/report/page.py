"""The HTML page around a report: inline CSS, header, flag cards, tables, footer. No scripts, no fetches."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

from matplotlib.figure import Figure

from hipsense import __version__
from hipsense.report import figures

#: Called as ``progress(done, total, current)`` like the store's progress callbacks.
Progress = Callable[[int, int, Any], None]

NOT_A_MEDICAL_DEVICE = (
    "hipsense is not a medical device. These numbers and flags describe how you ran; they inform and "
    "explain, they do not diagnose anything. For pain or injury, see a health professional."
)

# The sides' colours come from the figures, so the tables and the plots agree.
CSS = (
    f":root {{ --left:{figures.LEFT}; --right:{figures.RIGHT}; }}"
    + """
:root { --ink:#1f2328; --muted:#5f6b76; --line:#e3e6ea; --bg:#f6f7f9; --card:#ffffff;
        --info:#56B4E9; --watch:#E69F00; --alert:#D55E00; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font: 15px/1.5 "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 8px; }
header.top { border-bottom: 3px solid var(--ink); margin-bottom: 18px; padding-bottom: 10px; }
header.top .brand { font-size: 13px; letter-spacing: .08em; text-transform: uppercase; color: var(--muted); }
h1 { font-size: 26px; margin: 2px 0 4px; }
h2 { font-size: 19px; margin: 0 0 10px; }
.details { color: var(--muted); font-size: 13px; }
.details span + span::before { content: " \\00b7 "; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px;
          margin: 0 0 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 12px;
         background: none; border: 0; padding: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.card .v { font-size: 24px; font-weight: bold; white-space: nowrap; }
.card .v small { font-size: 13px; font-weight: normal; color: var(--muted); }
.card .s { color: var(--muted); font-size: 12px; }
figure { margin: 8px 0 6px; }
figure svg { display: block; height: auto; max-width: 100%; }
figcaption, .note { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 10px 0; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { color: var(--muted); font-weight: normal; font-size: 12px; text-transform: uppercase; }
td.l { color: var(--left); font-weight: bold; } td.r { color: var(--right); font-weight: bold; }
.differs { font-weight: bold; } .noise { color: var(--muted); }
ul.points { margin: 0; padding-left: 20px; } ul.points li { margin: 4px 0; }
.flag { border: 1px solid var(--line); border-left: 6px solid var(--info); border-radius: 8px;
        padding: 10px 14px; margin: 10px 0; }
.flag.watch { border-left-color: var(--watch); } .flag.alert { border-left-color: var(--alert); }
.flag .head { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.flag .kind { font-weight: bold; }
.flag .period { color: var(--muted); font-size: 13px; }
.badge { font-size: 11px; font-weight: bold; text-transform: uppercase; letter-spacing: .06em;
         border-radius: 4px; padding: 1px 6px; color: #000; background: var(--info); }
.badge.watch { background: var(--watch); } .badge.alert { background: var(--alert); color: #fff; }
.flag .sentence { margin: 6px 0; }
.flag .numbers { font-size: 13px; color: var(--muted); }
.flag .numbers b { color: var(--ink); font-weight: normal; }
.flag .advice { margin: 6px 0 2px; }
.flag .ref { font-size: 12px; color: var(--muted); }
.warn { background: #fff6e0; border: 1px solid var(--watch); border-radius: 8px; padding: 8px 12px; }
footer { max-width: 980px; margin: 0 auto; padding: 6px 20px 30px; color: var(--muted); font-size: 13px; }
footer .medical { color: var(--ink); font-weight: bold; }
.scroll { overflow-x: auto; }
@media print {
  body { background: #fff; font-size: 12px; }
  section, .card { border-color: #ccc; break-inside: avoid; }
}
"""
)

KIND_NAMES = {
    "load_spike": "Load spike",
    "load_climb": "Sustained load climb",
    "asymmetry_drift": "Asymmetry drifting from your baseline",
    "drop_rising": "Pelvic drop rising",
    "within_run_fatigue": "Fading within the run",
}


def esc(x: Any) -> str:
    return escape(str(x), quote=True)


def fmt_number(v: Any) -> str:
    """A figure behind a flag, short: three significant digits, thousands with separators."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return esc(v)
    if not math.isfinite(v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def card(key: str, value: str, sub: str = "") -> str:
    """One headline number; ``value`` is markup (it may hold a <small> unit)."""
    return (
        f'<div class="card"><div class="k">{esc(key)}</div><div class="v">{value}</div>'
        f'<div class="s">{esc(sub)}</div></div>'
    )


Cell = str | tuple[str, str]


def card_row(cards: Sequence[str]) -> str:
    return '<section class="cards">' + "".join(cards) + "</section>"


def table(head: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A table of cells that are markup already (callers escape what comes from data).

    A cell is its markup, or ``(css_class, markup)``.
    """

    def td(c: Cell) -> str:
        return f'<td class="{c[0]}">{c[1]}</td>' if isinstance(c, tuple) else f"<td>{c}</td>"

    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(td(c) for c in r) + "</tr>" for r in rows)
    # Wide tables scroll sideways on a phone instead of widening the page.
    return f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>'


def flags_section(flags: Sequence[dict[str, Any]], none_text: str) -> str:
    """The flags as cards, most severe first; ``flags`` are ``Flag.to_dict()`` dicts."""
    rank = {"alert": 0, "watch": 1, "info": 2}
    if not flags:
        return section("flags", "Flags", f'<p class="note">{esc(none_text)}</p>')
    cards = []
    for f in sorted(flags, key=lambda f: (rank.get(f.get("severity", "info"), 3), f.get("period_end", ""))):
        sev = f.get("severity", "info")
        kind = KIND_NAMES.get(f.get("kind", ""), str(f.get("kind", "")).replace("_", " ").capitalize())
        period = f.get("period_start", "")
        if f.get("period_end") and f.get("period_end") != period:
            period = f"{period} to {f['period_end']}"
        numbers = " \u00b7 ".join(
            f"{esc(k.replace('_', ' '))} <b>{fmt_number(v)}</b>" for k, v in (f.get("numbers") or {}).items()
        )
        cards.append(
            f'<div class="flag {esc(sev)}"><div class="head"><span class="badge {esc(sev)}">{esc(sev)}</span>'
            f'<span class="kind">{esc(kind)}</span><span class="period">{esc(period)}</span></div>'
            f'<p class="sentence">{esc(f.get("sentence", ""))}</p>'
            + (f'<div class="numbers">{numbers}</div>' if numbers else "")
            + f'<p class="advice"><b>What runners commonly do:</b> {esc(f.get("advice", ""))}</p>'
            f'<div class="ref">Source: {esc(f.get("reference", ""))}</div></div>'
        )
    intro = (
        '<p class="note">Observations worth a look, with the numbers behind them. They describe changes; '
        "they are not a diagnosis.</p>"
    )
    return section("flags", "Flags", intro + "".join(cards))


def draw(figs: Sequence[tuple[str, Callable[[], Figure]]], progress: Progress | None) -> list[str]:
    """Draw each figure and return its inline SVG, reporting progress per figure."""
    out = []
    for i, (name, make) in enumerate(figs):
        if progress:
            progress(i, len(figs), f"drawing {name}")
        out.append(to_svg(make(), f"fig{i}"))
    if progress:
        progress(len(figs), len(figs), None)
    return out


def section(sid: str, heading: str, content: str) -> str:
    """One titled part of the page; ``content`` is markup."""
    return f'<section id="{sid}"><h2>{esc(heading)}</h2>{content}</section>'


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def page(
    title: str, kind: str, details: Sequence[tuple[str, str]], body: str, *, sides_shown: bool = True
) -> str:
    """The whole document: one file, CSS inline, figures inline, nothing fetched. ``sides_shown``:
    whether anything on it is coloured by foot (the footer then says which colour is which)."""
    colours = "; left is shown in blue, right in vermillion" if sides_shown else ""
    spans = "".join(f"<span>{esc(k)}: {esc(v)}</span>" for k, v in details)
    made = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} - hipsense</title>
<style>{CSS}</style></head>
<body><main>
<header class="top"><div class="brand">hipsense \u00b7 {esc(kind)}</div><h1>{esc(title)}</h1>
<div class="details">{spans}</div></header>
{body}
</main>
<footer><p class="medical">{esc(NOT_A_MEDICAL_DEVICE)}</p>
<p>Made by hipsense {esc(__version__)} on {made}. Every metric is defined in the
project's docs/metrics.md{colours}.</p></footer>
</body></html>
"""


# -- into the page -------------------------------------------------------------------------------------


def to_svg(fig: Figure, uid: str) -> str:
    """The figure as inline SVG markup, its ids prefixed with ``uid`` so several can share a page."""
    buf = io.StringIO()
    with figures.style():
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # the XML prolog and DOCTYPE do not belong inside HTML
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{uid}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{uid}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{uid}-\1"', svg)
    # Scale with the page (keep the viewBox, drop the fixed size in points); screen readers get the titles.
    titles = "; ".join(t for ax in fig.axes if ax.get_visible() and (t := ax.get_title(loc="left")))
    head = f'<svg\\1 width="100%" role="img" aria-label="{escape(titles, quote=True)}"'
    return re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', head, svg, count=1)
