"""Charts drawn with Vega-Lite and rendered to SVG at build time by vl-convert: the
page needs no JavaScript and no network to show them.

The Vega-Lite specifications are written as plain data (dicts), the same ones Altair
would build (tests/reference_charts.py keeps that reference): building an Altair object
per chart cost more than drawing it. The French number and date formats travel in the
specification's config, which vl-convert renders faster than its locale arguments.
"""

from __future__ import annotations

import html
import re
from functools import cache

import vl_convert

from tasks.citizen_site.data import MEL, UNAVAILABLE, ChartData

# Contrast against white above 4.5:1 for both (WCAG AA for text, so for bars too).
COMMUNE_COLOUR = "#000091"
MEL_COLOUR = "#B34000"
TEXT_COLOUR = "#3A3A3A"
WIDTH = 460
LOCALE = "fr-FR"
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.4.1.json"
_SVG_OPEN = re.compile(r"<svg\b([^>]*)>")
_CONFIG = {
    "view": {"continuousWidth": 300, "continuousHeight": 300, "stroke": None},
    "axis": {"labelColor": TEXT_COLOUR, "labelFontSize": 12, "titleColor": TEXT_COLOUR},
    "font": "Arial, Helvetica, sans-serif",
    "legend": {
        "columnPadding": 24,
        "labelColor": TEXT_COLOUR,
        "labelFontSize": 13,
        "orient": "top",
        "title": None,
    },
}
# Browsers draw text a little wider than the renderer measures it: keep a margin.
_PADDING = {"left": 24, "right": 48, "top": 8, "bottom": 8}


def render_svg(data: ChartData) -> str:
    """The chart as an accessible inline SVG: role img, a <title> and a <desc>."""
    svg = vl_convert.vegalite_to_svg(chart_spec(data))
    return accessible(svg, data)


def chart_spec(data: ChartData) -> dict:
    """The chart's Vega-Lite specification."""
    # A line keeps its missing years, so that it breaks there instead of joining them.
    values = _values(data, keep_unavailable=data.chart.type == "courbe")
    draw = {"barres": _bars, "colonnes": _columns, "courbe": _line}[data.chart.type]
    return {
        "config": {**_CONFIG, "locale": _locale()},
        **draw(data),
        "data": {"values": values},
        "padding": _PADDING,
        "width": WIDTH,
        "$schema": VEGA_LITE_SCHEMA,
    }


@cache
def _locale() -> dict:
    return {
        "number": vl_convert.get_format_locale(LOCALE),
        "time": vl_convert.get_time_format_locale(LOCALE),
    }


def describe(data: ChartData) -> str:
    """The alternative text: every number of the chart, in reading order."""
    parts = []
    for territoire in data.territoires:
        values = [
            f"{categorie} : {data.label(data.point(territoire, categorie))}"
            for categorie in data.categories
            if data.point(territoire, categorie) is not None
        ]
        parts.append(f"{territoire} — " + " ; ".join(values))
    return f"{data.chart.titre} ({data.chart.unite}). " + ". ".join(parts) + "."


def _values(data: ChartData, keep_unavailable: bool) -> list[dict]:
    return [
        {
            "territoire": p.territoire,
            "ordre_territoire": p.ordre_territoire,
            "categorie": p.categorie,
            "ordre": p.ordre,
            "valeur": p.valeur,
            "position": p.valeur if p.valeur is not None else 0.0,
            "libelle": data.label(p),
            "absent": p.valeur is None,
        }
        for p in data.points
        if p.valeur is not None or p.raison_absence or keep_unavailable
    ]


def _field(name: str, kind: str, **properties) -> dict:
    return {"field": name, "type": kind, **properties}


def _colour(data: ChartData) -> dict:
    domain = data.territoires
    palette = [COMMUNE_COLOUR if name != MEL else MEL_COLOUR for name in domain]
    legend = {} if len(domain) > 1 else None
    return _field(
        "territoire", "nominal", legend=legend, scale={"domain": domain, "range": palette}
    )


def _number_format(data: ChartData) -> str:
    # Axis ticks need at most one decimal, even when the labels show cents.
    return f",.{min(data.chart.decimales, 1)}~f"


def _text(**properties) -> dict:
    return {"type": "text", **properties}


def _bars(data: ChartData) -> dict:
    categories = data.categories
    axes = {
        "y": _field("categorie", "nominal", axis={"labelLimit": 260}, sort=categories, title=None),
        "yOffset": _field("territoire", "nominal", sort=data.territoires),
    }
    bars = {
        "mark": {"type": "bar", "height": {"band": 0.9}},
        "encoding": {
            "color": _colour(data),
            "x": _field(
                "valeur",
                "quantitative",
                axis={"format": _number_format(data), "tickCount": 5},
                title=data.chart.unite,
            ),
            **axes,
        },
        "transform": [{"filter": "!datum.absent"}],
    }
    labels = {
        "mark": _text(align="left", dx=4, fontSize=12),
        "encoding": {
            "color": _colour(data),
            "text": _field("libelle", "nominal"),
            "x": _field("valeur", "quantitative"),
            **axes,
        },
        "transform": [{"filter": "!datum.absent"}],
    }
    # A masked value is written where its bar would start, never drawn as a zero bar.
    absent = {
        "mark": _text(align="left", color=TEXT_COLOUR, dx=4, fontSize=12, fontStyle="italic"),
        "encoding": {
            "text": _field("libelle", "nominal"),
            "x": _field("position", "quantitative"),
            **axes,
        },
        "transform": [{"filter": "datum.absent"}],
    }
    rows = len(categories) * max(1, len(data.territoires))
    return {"layer": [bars, labels, absent], "height": {"step": 22} if rows else 60}


def _columns(data: ChartData) -> dict:
    axes = {
        "x": _field(
            "categorie", "nominal", axis={"labelAngle": 0}, sort=data.categories, title=None
        ),
        "xOffset": _field("territoire", "nominal"),
    }
    columns = {
        "mark": {"type": "bar"},
        "encoding": {
            "color": _colour(data),
            **axes,
            "y": _field(
                "valeur",
                "quantitative",
                axis={"format": _number_format(data)},
                title=data.chart.unite,
            ),
        },
        "transform": [{"filter": "!datum.absent"}],
    }
    labels = {
        "mark": _text(baseline="bottom", color=TEXT_COLOUR, dy=-3, fontSize=12),
        "encoding": {
            "text": _field("libelle", "nominal"),
            **axes,
            "y": _field("position", "quantitative"),
        },
    }
    return {"layer": [columns, labels], "height": 260}


def _line(data: ChartData) -> dict:
    x = _field("ordre", "quantitative", axis={"format": "d"}, scale={"zero": False}, title=None)
    y = _field(
        "valeur", "quantitative", axis={"format": _number_format(data)}, title=data.chart.unite
    )
    line = {
        "mark": {"type": "line", "strokeWidth": 2.5},
        "encoding": {"color": _colour(data), "x": x, "y": y},
    }
    points = {
        "mark": {"type": "point", "filled": True, "size": 50},
        "encoding": {"color": _colour(data), "x": x, "y": y},
        "transform": [{"filter": "!datum.absent"}],
    }
    # A year whose value the source explains away is named at the foot of the chart.
    absent = {
        "mark": _text(align="left", angle=270, dy=4, fontSize=11, fontStyle="italic"),
        "encoding": {
            "color": {"value": TEXT_COLOUR},
            "text": _field("libelle", "nominal"),
            "x": x,
            "y": _field("position", "quantitative"),
        },
        "transform": [{"filter": f"datum.absent && datum.libelle != '{UNAVAILABLE}'"}],
    }
    return {"layer": [line, points, absent], "height": 280}


def accessible(svg: str, data: ChartData) -> str:
    chart_id = data.chart.id
    attributes = (
        f' role="img" aria-labelledby="{chart_id}-titre"'
        f' aria-describedby="{chart_id}-desc" focusable="false"'
    )
    heading = (
        f'<title id="{chart_id}-titre">{html.escape(data.chart.titre)}</title>'
        f'<desc id="{chart_id}-desc">{html.escape(describe(data))}</desc>'
    )
    return _SVG_OPEN.sub(lambda m: f"<svg{m.group(1)}{attributes}>{heading}", svg, count=1)
