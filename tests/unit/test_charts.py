"""Charts as the pages and PDFs embed them: plain <svg> in the SVG namespace, whatever other libraries
did to ElementTree's process-wide namespace prefixes."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from projectflow.core import charts


def test_a_chart_is_plain_svg_even_after_another_library_claims_the_default_prefix():
    # As another library may, at any time in the same process (found: the charts page drew nothing).
    ET.register_namespace("", "http://example.org/another")
    ET.register_namespace("s", charts.SVG)
    chart = charts.agreement_scatter("pairs", "First and second marks", [("A", 60.0, 64.0), ("B", 70.0, 58.0)],
                                     agree_within=5)
    markup = str(chart.svg)
    assert markup.startswith("<svg ") and 'xmlns="http://www.w3.org/2000/svg"' in markup
    assert "ns0:" not in markup and "<s:" not in markup
    # References between elements keep the xlink prefix browsers understand.
    assert "xlink:href" in markup or "href" not in markup
    assert 'style="' not in markup  # the site's CSP allows no inline styles
