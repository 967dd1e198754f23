"""The chart of one load run, because people would rather look than read: per alert rule (latency, error
rate), its value over the run with the threshold drawn and the firing interval shaded. Plain SVG, no plotting
library: the points come from the load verdict's ``run.timelines`` (one per evaluation, on the master)."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import Any

WIDTH, PANEL_H, MARGIN_L, MARGIN_R, MARGIN_T, GAP = 760, 190, 70, 20, 34, 46


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.3g}"


def _panel(name: str, timeline: dict[str, Any], top: float, t_end: float) -> list[str]:
    points = [(float(t), v, status) for t, v, status in timeline.get("points", [])]
    limit = float(timeline.get("limit", 0.0))
    unit = str(timeline.get("unit", ""))
    values = [v for _, v, _ in points if v is not None and math.isfinite(v)]
    y_max = max([limit * 1.5, *values, 1e-9]) * 1.1
    plot_w = WIDTH - MARGIN_L - MARGIN_R

    def x(t: float) -> float:
        return MARGIN_L + plot_w * (t / t_end if t_end > 0 else 0)

    def y(v: float) -> float:
        return float(top + PANEL_H - PANEL_H * min(v, y_max) / y_max)

    out = [
        f'<text x="{MARGIN_L}" y="{top - 8}" font-size="13" font-weight="bold">{escape(name)} '
        f"({escape(unit or 'value')}; limit {timeline.get('op', '>')} {_fmt(limit, unit)})</text>",
        f'<rect x="{MARGIN_L}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="#fafafa" stroke="#999"/>',
    ]
    # firing intervals: consecutive evaluations with status "firing"
    start: float | None = None
    for t, _, status in [*points, (t_end, None, "end")]:
        if status == "firing" and start is None:
            start = t
        elif status != "firing" and start is not None:
            out.append(
                f'<rect class="firing" x="{x(start):.1f}" y="{top}" width="{max(x(t) - x(start), 1):.1f}" '
                f'height="{PANEL_H}" fill="#f8d0d0"><title>firing {start:.0f}-{t:.0f} s</title></rect>'
            )
            start = None
    out.append(
        f'<line class="threshold" x1="{MARGIN_L}" x2="{WIDTH - MARGIN_R}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" '
        f'stroke="#c00" stroke-dasharray="6,4"/>'
        f'<text x="{WIDTH - MARGIN_R - 4}" y="{y(limit) - 4:.1f}" font-size="11" fill="#c00" '
        f'text-anchor="end">threshold {_fmt(limit, unit)}</text>'
    )
    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v, _ in points if v is not None and math.isfinite(v))
    if path:
        out.append(f'<polyline class="value" points="{path}" fill="none" stroke="#1f5fbf" stroke-width="1.8"/>')
    else:
        out.append(f'<text x="{MARGIN_L + 10}" y="{top + PANEL_H / 2}" font-size="12">no data</text>')
    for frac in (0.0, 0.5, 1.0):
        v = y_max * frac
        out.append(
            f'<text x="{MARGIN_L - 6}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">{_fmt(v, unit)}</text>'
        )
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        t = t_end * frac
        out.append(
            f'<text x="{x(t):.1f}" y="{top + PANEL_H + 14}" font-size="10" text-anchor="middle">{t:.0f} s</text>'
        )
    return out


def render_load_chart(verdict: dict[str, Any], title: str = "") -> str:
    timelines: dict[str, Any] = verdict.get("run", {}).get("timelines", {}) or {}
    t_end = max(
        [float(verdict.get("run", {}).get("duration_s", 0.0))]
        + [float(p[0]) for tl in timelines.values() for p in tl.get("points", [])]
        + [1.0]
    )
    height = MARGIN_T + max(len(timelines), 1) * (PANEL_H + GAP) + 10
    status = str(verdict.get("status", "?")).upper()
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif">',
        f'<text x="{MARGIN_L}" y="20" font-size="15" font-weight="bold">Load run {escape(title)}: {status}</text>',
    ]
    if not timelines:
        body.append(f'<text x="{MARGIN_L}" y="{MARGIN_T + 20}" font-size="12">no rule was evaluated</text>')
    for i, (name, timeline) in enumerate(sorted(timelines.items())):
        body.extend(_panel(name, timeline, MARGIN_T + 18 + i * (PANEL_H + GAP), t_end))
    body.append("</svg>")
    return "\n".join(body) + "\n"


def write_load_chart(verdict: dict[str, Any], path: Path, title: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_load_chart(verdict, title), encoding="utf-8")
    return path
