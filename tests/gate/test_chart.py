"""The load run's chart: the value over time, the threshold line, the firing interval shaded (pure logic)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from harness.gate.chart import render_load_chart

NS = "{http://www.w3.org/2000/svg}"


def _verdict(points: list[list[Any]]) -> dict[str, Any]:
    return {
        "status": "breach",
        "run": {
            "duration_s": 20.0,
            "timelines": {
                "HighLatency": {"limit": 0.5, "op": ">", "unit": "s", "points": points},
                "HighErrorRate": {"limit": 0.01, "op": ">", "unit": "errors/s", "points": [[1.0, 0.0, "ok"]]},
            },
        },
    }


def test_the_firing_interval_is_shaded_and_the_threshold_drawn() -> None:
    points = [[t, 0.7 if t >= 5 else 0.1, "firing" if t >= 10 else ("pending" if t >= 5 else "ok")] for t in range(21)]
    svg = ET.fromstring(render_load_chart(_verdict(points), "storage backend"))
    firing = [r for r in svg.iter(f"{NS}rect") if r.get("class") == "firing"]
    assert len(firing) == 1
    assert float(firing[0].get("width", "0")) > 0
    assert len([line for line in svg.iter(f"{NS}line") if line.get("class") == "threshold"]) == 2
    assert len([p for p in svg.iter(f"{NS}polyline") if p.get("class") == "value"]) == 2


def test_a_healthy_run_has_no_firing_interval() -> None:
    points = [[t, 0.02, "ok"] for t in range(21)]
    svg = ET.fromstring(render_load_chart(_verdict(points)))
    assert not [r for r in svg.iter(f"{NS}rect") if r.get("class") == "firing"]


def test_a_run_without_timelines_says_so() -> None:
    text = render_load_chart({"status": "invalid", "run": {"duration_s": 0}})
    ET.fromstring(text)
    assert "no rule was evaluated" in text
