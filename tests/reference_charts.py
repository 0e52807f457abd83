"""The reference of the citizen site's charts: the same charts built with Altair, as
the site drew them until tasks/citizen_site/charts.py wrote its Vega-Lite specifications
as plain data. Tests and bench/site.py check that both give the same specification and
the same SVG, and measure the difference."""

from __future__ import annotations

import altair as alt
import vl_convert

from tasks.citizen_site.charts import _values as chart_values
from tasks.citizen_site.charts import accessible
from tasks.citizen_site.data import MEL, UNAVAILABLE, ChartData

# Contrast against white above 4.5:1 for both (WCAG AA for text, so for bars too).
COMMUNE_COLOUR = "#000091"
MEL_COLOUR = "#B34000"
TEXT_COLOUR = "#3A3A3A"
WIDTH = 460


def render_svg(data: ChartData) -> str:
    """The chart as an accessible inline SVG, rendered as the site used to."""
    spec = build_chart(data).to_dict()
    svg = vl_convert.vegalite_to_svg(spec, format_locale="fr-FR", time_format_locale="fr-FR")
    return accessible(svg, data)


def build_chart(data: ChartData) -> alt.Chart:
    # A line keeps its missing years, so that it breaks there instead of joining them.
    frame = _frame(data, keep_unavailable=data.chart.type == "courbe")
    draw = {"barres": _bars, "colonnes": _columns, "courbe": _line}[data.chart.type]
    return (
        draw(frame, data)
        # Browsers draw text a little wider than the renderer measures it: keep a margin.
        .properties(width=WIDTH, padding={"left": 24, "right": 48, "top": 8, "bottom": 8})
        .configure(font="Arial, Helvetica, sans-serif")
        .configure_axis(labelColor=TEXT_COLOUR, titleColor=TEXT_COLOUR, labelFontSize=12)
        .configure_legend(
            labelColor=TEXT_COLOUR, labelFontSize=13, orient="top", title=None, columnPadding=24
        )
        .configure_view(stroke=None)
    )


def _frame(data: ChartData, keep_unavailable: bool) -> alt.Data:
    # The data rows are the site's own: the reference is about building the chart.
    return alt.Data(values=chart_values(data, keep_unavailable))


def _colour(data: ChartData) -> alt.Color:
    domain = data.territoires
    palette = [COMMUNE_COLOUR if name != MEL else MEL_COLOUR for name in domain]
    legend = alt.Legend() if len(domain) > 1 else None
    return alt.Color("territoire:N", scale=alt.Scale(domain=domain, range=palette), legend=legend)


def _number_format(data: ChartData) -> str:
    # Axis ticks need at most one decimal, even when the labels show cents.
    return f",.{min(data.chart.decimales, 1)}~f"


def _bars(frame: alt.Data, data: ChartData) -> alt.LayerChart:
    categories = data.categories
    y = alt.Y("categorie:N", sort=categories, title=None, axis=alt.Axis(labelLimit=260))
    offset = alt.YOffset("territoire:N", sort=data.territoires)
    base = alt.Chart(frame).encode(y=y, yOffset=offset)
    bars = (
        base.transform_filter("!datum.absent")
        .mark_bar(height={"band": 0.9})
        .encode(
            x=alt.X(
                "valeur:Q",
                title=data.chart.unite,
                axis=alt.Axis(format=_number_format(data), tickCount=5),
            ),
            color=_colour(data),
        )
    )
    labels = (
        base.transform_filter("!datum.absent")
        .mark_text(align="left", dx=4, fontSize=12)
        .encode(x="valeur:Q", text="libelle:N", color=_colour(data))
    )
    # A masked value is written where its bar would start, never drawn as a zero bar.
    absent = (
        base.transform_filter("datum.absent")
        .mark_text(align="left", dx=4, fontSize=12, fontStyle="italic", color=TEXT_COLOUR)
        .encode(x="position:Q", text="libelle:N")
    )
    rows = len(categories) * max(1, len(data.territoires))
    return alt.layer(bars, labels, absent).properties(height=alt.Step(22) if rows else 60)


def _columns(frame: alt.Data, data: ChartData) -> alt.LayerChart:
    x = alt.X("categorie:N", sort=data.categories, title=None, axis=alt.Axis(labelAngle=0))
    base = alt.Chart(frame).encode(x=x, xOffset=alt.XOffset("territoire:N"))
    columns = (
        base.transform_filter("!datum.absent")
        .mark_bar()
        .encode(
            y=alt.Y("valeur:Q", title=data.chart.unite, axis=alt.Axis(format=_number_format(data))),
            color=_colour(data),
        )
    )
    labels = base.mark_text(baseline="bottom", dy=-3, fontSize=12, color=TEXT_COLOUR).encode(
        y="position:Q", text="libelle:N"
    )
    return alt.layer(columns, labels).properties(height=260)


def _line(frame: alt.Data, data: ChartData) -> alt.LayerChart:
    x = alt.X("ordre:Q", title=None, scale=alt.Scale(zero=False), axis=alt.Axis(format="d"))
    y = alt.Y("valeur:Q", title=data.chart.unite, axis=alt.Axis(format=_number_format(data)))
    base = alt.Chart(frame).encode(x=x)
    line = base.mark_line(strokeWidth=2.5).encode(y=y, color=_colour(data))
    points = (
        base.transform_filter("!datum.absent")
        .mark_point(filled=True, size=50)
        .encode(y=y, color=_colour(data))
    )
    # A year whose value the source explains away is named at the foot of the chart.
    absent = (
        base.transform_filter(f"datum.absent && datum.libelle != '{UNAVAILABLE}'")
        .mark_text(angle=270, align="left", dy=4, fontSize=11, fontStyle="italic")
        .encode(y="position:Q", text="libelle:N", color=alt.value(TEXT_COLOUR))
    )
    return alt.layer(line, points, absent).properties(height=280)
