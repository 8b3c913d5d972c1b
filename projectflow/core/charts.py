"""Charts, drawn one way for every page and PDF: matplotlib lays them out on the server as SVG, with text
kept as text (selectable, read by screen readers, sharp at any size), and nothing fetched at run time.

Each chart comes with its data as a table (``Chart.columns``/``Chart.rows``): the page shows it beside
or under the picture (``templates/macros/charts.html``), for people who cannot see the picture or
would rather read the numbers.

The site's Content-Security-Policy allows no inline styles, and matplotlib writes ``style="..."`` on
every element and a ``<style>`` block: ``_tidy`` turns those into SVG presentation attributes (``fill``,
``stroke``, ``font-size`` ...), which the policy allows and WeasyPrint reads, so the same markup can be
put straight into a page or a PDF. Ids are prefixed per chart, so several charts share a page.
"""

from __future__ import annotations

import io
import re
import statistics
import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)

FONT = "DejaVu Sans, Verdana, sans-serif"  # matplotlib measures text with DejaVu Sans (it ships inside)
INK = "#212529"
MUTED = "#6c757d"
BLUE = "#0a58ca"
ORANGE = "#b35c00"
BAND = "#d1e7dd"
# Presentation attributes an SVG element may carry instead of the same CSS property.
PRESENTATION = {"fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
                "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray",
                "stroke-dashoffset", "opacity", "clip-path", "font-family", "font-size", "font-weight",
                "font-style", "text-anchor", "dominant-baseline", "visibility", "display"}
_FONT_SHORTHAND = re.compile(r"^(?:(italic|oblique|normal)\s+)?(?:(bold|normal|\d{3})\s+)?([\d.]+)px\s+(.+)$")
_LOCK = threading.Lock()  # matplotlib's settings are global: one chart is drawn at a time


@dataclass(frozen=True)
class Chart:
    """A chart as SVG markup with its accessible name, a one-sentence summary and its data table."""

    key: str  # unique on the page: the SVG's ids and the table's are prefixed with it
    title: str  # the accessible name
    summary: str  # what the chart shows, in a sentence, shown under it
    svg: Markup
    columns: tuple[str, ...]
    rows: list[tuple] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.rows


def _figure(width: float = 6.4, height: float = 4.0):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    figure.patch.set_alpha(0)
    return figure


def _axes(figure, *, x_label: str, y_label: str):
    axes = figure.add_subplot()
    axes.set_xlabel(x_label, color=INK)
    axes.set_ylabel(y_label, color=INK)
    axes.set_facecolor("none")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(colors=INK)
    return axes


def _svg(figure, key: str, title: str) -> Markup:
    """The figure as SVG markup ready for a page: styles as attributes, ids prefixed, named for
    assistive technology."""
    import matplotlib

    out = io.StringIO()
    with _LOCK, matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key, "font.size": 11,
                                       "font.family": "DejaVu Sans"}):
        figure.tight_layout()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
        return Markup(_tidy(out.getvalue(), key, title))  # under the lock too: it sets ElementTree's prefixes


def _declarations(style: str) -> dict[str, str]:
    found = {}
    for part in style.split(";"):
        name, _, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if not name:
            continue
        if name == "font":
            match = _FONT_SHORTHAND.match(value)
            if match:
                italic, weight, size, _family = match.groups()
                found["font-size"] = size
                if italic and italic != "normal":
                    found["font-style"] = italic
                if weight and weight != "normal":
                    found["font-weight"] = weight
                found["font-family"] = FONT
            continue
        if name == "font-family":
            value = FONT
        found[name] = value
    return found


def _tidy(text: str, key: str, title: str) -> str:
    root = ET.fromstring(text.encode())
    ids = {}
    for element in root.iter():
        if "id" in element.attrib:
            ids[element.attrib["id"]] = f"{key}-{element.attrib['id']}"
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{SVG}}}style", f"{{{SVG}}}metadata", f"{{{SVG}}}title"):
                parent.remove(child)
    for element in root.iter():
        style = element.attrib.pop("style", None)
        if style:
            for name, value in _declarations(style).items():
                if name in PRESENTATION:
                    element.set(name, value)
        for name, value in list(element.attrib.items()):
            if name == "id":
                element.set(name, ids[value])
            elif "url(#" in value:
                element.set(name, re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{ids.get(m[1], m[1])})", value))
            elif name == f"{{{XLINK}}}href" and value.startswith("#"):
                element.set(name, "#" + ids.get(value[1:], value[1:]))
    # What the removed <style> block said for every element, as inherited attributes of the root.
    root.set("stroke-linejoin", "round")
    root.set("stroke-linecap", "butt")
    for size in ("width", "height"):
        root.attrib.pop(size, None)  # the page sizes it (to its container's width) from the viewBox
    root.set("role", "img")
    root.set("aria-labelledby", f"{key}-title")
    root.set("class", "chart-svg")
    root.set("id", key)
    name = ET.Element(f"{{{SVG}}}title", {"id": f"{key}-title"})
    name.text = title
    root.insert(0, name)
    # ElementTree's prefixes are process-wide and other libraries change them (a later
    # register_namespace("", ...) drops ours, and the chart came out as <ns0:svg>, which no HTML parser
    # draws): name them again for this serialisation.
    ET.register_namespace("", SVG)
    ET.register_namespace("xlink", XLINK)
    return ET.tostring(root, encoding="unicode")


def _empty(key: str, title: str, summary: str, columns: tuple[str, ...]) -> Chart:
    return Chart(key, title, summary, Markup(""), columns, [])


# --- the charts ------------------------------------------------------------------------------------

def agreement_scatter(key: str, title: str, pairs: Sequence[tuple[str, float, float]], *, agree_within: float,
                      x_label: str = "First marker's mark", y_label: str = "Second marker's mark") -> Chart:
    """One dot per pair of marks (first across, second up) over the band where the two agree
    automatically (a gap of at most ``agree_within``) and the line where they are equal; ``pairs``
    are (label, first, second). The table lists each pair with its gap."""
    columns = ("Student", "First mark", "Second mark", "Gap")
    rows = [(label, first, second, round(abs(first - second), 2)) for label, first, second in pairs]
    within = sum(1 for r in rows if r[3] <= agree_within)
    summary = (f"{len(rows)} pairs of marks; {within} within {agree_within:g} points of each other (the shaded "
               f"band), {len(rows) - within} further apart.")
    if not rows:
        return _empty(key, title, "No pair of marks is submitted yet.", columns)
    figure = _figure(6.0, 5.4)
    axes = _axes(figure, x_label=x_label, y_label=y_label)
    low = max(0.0, min(min(r[1] for r in rows), min(r[2] for r in rows)) - 5)
    high = min(100.0, max(max(r[1] for r in rows), max(r[2] for r in rows)) + 5)
    edge = [low, high]
    axes.fill_between(edge, [low - agree_within, high - agree_within], [low + agree_within, high + agree_within],
                      color=BAND, linewidth=0, label=f"Within {agree_within:g} points")
    axes.plot(edge, edge, color=MUTED, linewidth=1, linestyle="--", label="Equal marks")
    inside = [r for r in rows if r[3] <= agree_within]
    outside = [r for r in rows if r[3] > agree_within]
    axes.scatter([r[1] for r in inside], [r[2] for r in inside], s=22, color=BLUE, marker="o",
                 label="Agreed within the band")
    axes.scatter([r[1] for r in outside], [r[2] for r in outside], s=34, color=ORANGE, marker="^",
                 label="Further apart")
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_aspect("equal")
    axes.legend(loc="upper left", fontsize=9, frameon=False, labelcolor=INK)
    return Chart(key, title, summary, _svg(figure, key, title), columns, rows)


def distribution(key: str, title: str, marks: Sequence[float], *, boundaries: Sequence[tuple[float, str]],
                 x_label: str = "Final mark", y_label: str = "Students") -> Chart:
    """How many marks fall in each band of five, with the class boundaries drawn as labelled lines
    (``boundaries``: (mark, class name)). The table counts the marks of each band."""
    columns = ("Marks", "Students")
    edges = list(range(0, 105, 5))
    counts = [0] * (len(edges) - 1)
    for m in marks:
        counts[min(int(m // 5), len(counts) - 1)] += 1
    rows = [(f"{lo}–{lo + 4.99:.2f}" if lo < 95 else "95–100", n) for lo, n in zip(edges, counts) if n]
    if not marks:
        return _empty(key, title, "No final mark yet.", columns)
    summary = (f"{len(marks)} final marks from {min(marks):.2f} to {max(marks):.2f}, median "
               f"{statistics.median(marks):.2f}; " + ", ".join(
                   f"{sum(1 for m in marks if m >= b)} at or above {b:g} ({name})" for b, name in boundaries) + ".")
    figure = _figure(6.4, 3.8)
    axes = _axes(figure, x_label=x_label, y_label=y_label)
    axes.hist(list(marks), bins=edges, color=BLUE, edgecolor="white", linewidth=0.8)
    top = max(counts)
    for mark, name in boundaries:
        axes.axvline(mark, color=INK, linewidth=1.2, linestyle="--")
        axes.text(mark + 0.6, top * 1.02, name, color=INK, fontsize=9, va="bottom")
    low = max(0, (int(min(marks)) // 5) * 5 - 5)
    axes.set_xlim(min(low, min(b for b, _ in boundaries) - 5), 100)
    axes.set_ylim(0, top * 1.18 + 0.5)
    axes.yaxis.get_major_locator().set_params(integer=True)
    return Chart(key, title, summary, _svg(figure, key, title), columns, rows)


@dataclass(frozen=True)
class Spread:
    """One person's marks in brief: how many, their mean and standard deviation."""

    label: str
    n: int
    mean: float
    sd: float

    @classmethod
    def of(cls, label: str, marks: Sequence[float]) -> Spread:
        return cls(label, len(marks), round(statistics.fmean(marks), 2),
                   round(statistics.pstdev(marks), 2) if len(marks) > 1 else 0.0)


def spreads(key: str, title: str, people: Sequence[Spread], everyone: Spread, *,
            x_label: str = "Mark") -> Chart:
    """Each person's mean mark (a dot) and spread (one standard deviation either side) against the
    cohort's (the shaded band and its line). The table gives the numbers."""
    columns = ("Marker", "Marks", "Mean", "Standard deviation")
    rows = [(p.label, p.n, p.mean, p.sd) for p in people] + [(everyone.label, everyone.n, everyone.mean, everyone.sd)]
    if not people:
        return _empty(key, title, "No submitted marks yet.", columns)
    summary = (f"{len(people)} markers; the cohort's marks average {everyone.mean:.2f} with a standard deviation "
               f"of {everyone.sd:.2f} (the shaded band).")
    figure = _figure(6.4, max(2.6, 1.2 + 0.32 * len(people)))
    axes = _axes(figure, x_label=x_label, y_label="")
    ys = list(range(len(people)))[::-1]
    axes.axvspan(everyone.mean - everyone.sd, everyone.mean + everyone.sd, color=BAND, linewidth=0,
                 label=f"{everyone.label}: mean ± one standard deviation")
    axes.axvline(everyone.mean, color=MUTED, linewidth=1, linestyle="--")
    axes.errorbar([p.mean for p in people], ys, xerr=[p.sd for p in people], fmt="o", color=BLUE,
                  ecolor=BLUE, elinewidth=1.2, capsize=3, markersize=5, label="Marker: mean ± one standard deviation")
    axes.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, fontsize=8, frameon=False, labelcolor=INK)
    axes.set_yticks(ys, [f"{p.label} ({p.n})" for p in people], fontsize=9)
    axes.set_ylim(-0.7, len(people) - 0.3)
    lows = [p.mean - p.sd for p in people] + [everyone.mean - everyone.sd]
    highs = [p.mean + p.sd for p in people] + [everyone.mean + everyone.sd]
    axes.set_xlim(max(0, min(lows) - 5), min(100, max(highs) + 5))
    axes.spines["left"].set_visible(False)
    axes.tick_params(axis="y", length=0)
    return Chart(key, title, summary, _svg(figure, key, title), columns, rows)
