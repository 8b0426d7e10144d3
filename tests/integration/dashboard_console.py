"""The Grafana dashboard drawn without Grafana: each panel of
docker/grafana/dashboards/oss-agent.json becomes a Prometheus console graph (Prometheus 2's
`--web.console.templates`, drawn by its own `prom_console.js`) with the panel's title,
queries and legends. Grafana cannot be installed from the registries the test machines
reach; Debian's `prometheus` can, so this is how a test shows the dashboard's queries
drawing lines from the running service."""

from __future__ import annotations

import html
import json
import re
from typing import Any

STATIC = "/classic/static"
HEAD = rf"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>oss-agent</title>
<link rel="stylesheet" href="{STATIC}/rickshaw/rickshaw.min.css">
<link rel="stylesheet" href="{STATIC}/css/prom_console.css">
<script src="{STATIC}/d3/d3.min.js"></script>
<script src="{STATIC}/rickshaw/rickshaw.min.js"></script>
<script src="{STATIC}/jquery/jquery.min.js"></script>
<script>var PATH_PREFIX = "";</script>
<script src="{STATIC}/js/prom_console.js"></script>
<script>
// prom_console.js drops the text after a legend's last [[label]] ("[[backend]] p95"
// would read "default"): fill the labels here instead.
function legend(format) {{
  return function (metric) {{
    return format.replace(/\[\[(\w+)\]\]/g, function (_, label) {{ return metric[label]; }});
  }};
}}
function graph(id, options) {{
  options.node = document.getElementById(id);
  options.name = options.name.map(legend);
  new PromConsole.Graph(options);
}}
</script>
<style>
 body {{ font-family: sans-serif; margin: 8px; }}
 h1 {{ font-size: 18px; margin: 4px 0; }}
 h2 {{ font-size: 15px; margin: 10px 0 2px; border-bottom: 1px solid #ccc; }}
 .panels {{ display: flex; flex-wrap: wrap; }}
 .panel {{ box-sizing: border-box; padding: 4px; }}
 .panel h3 {{ font-size: 13px; margin: 2px 0; }}
</style></head><body>
"""
# Grafana's units, as the console graph's y-axis unit.
UNITS = {"s": "s", "reqps": "/s"}


def console_page(dashboard: dict[str, Any], seconds_shown: int, rate_window: str) -> str:
    """The console template (an HTML page Prometheus serves under /consoles/) for `dashboard`."""
    parts = [HEAD, f"<h1>{html.escape(dashboard['title'])}</h1>"]
    panels: list[str] = []
    for index, panel in enumerate(dashboard["panels"]):
        if panel["type"] == "row":
            parts += [*_flush(panels), f"<h2>{html.escape(panel['title'])}</h2>"]
        else:
            panels.append(_graph(index, panel, seconds_shown, rate_window))
    parts += [*_flush(panels), "</body></html>"]
    # Go templates read {{ }}: the page has none of its own, so none may reach Prometheus.
    return "\n".join(parts).replace("{{", "{{`{{`}}")


def _flush(panels: list[str]) -> list[str]:
    if not panels:
        return []
    block = ['<div class="panels">', *panels, "</div>"]
    panels.clear()
    return block


def _graph(index: int, panel: dict[str, Any], seconds_shown: int, rate_window: str) -> str:
    targets = panel.get("targets", [])
    options = {
        "expr": [t["expr"].replace("$__rate_interval", rate_window) for t in targets],
        "name": [_legend(t.get("legendFormat", "")) for t in targets],
        "duration": seconds_shown,
        "height": 110,
        "yUnits": UNITS.get(panel.get("fieldConfig", {}).get("defaults", {}).get("unit"), ""),
    }
    width = 100 * panel["gridPos"]["w"] / 24
    return (
        f'<div class="panel" style="width:{width:.2f}%"><h3>{html.escape(panel["title"])}</h3>'
        f'<div id="panel-{index}" class="graph"></div></div>\n'
        f'<script>graph("panel-{index}", {json.dumps(options)});</script>'
    )


def _legend(grafana_format: str) -> str:
    """Grafana's `{{label}}` legends in the console graph's `[[label]]` spelling."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", r"[[\1]]", grafana_format)
