"""Prometheus metrics of the agent, served at GET /metrics.

With several worker processes (`serve --workers`), PROMETHEUS_MULTIPROC_DIR names a folder
where each worker keeps its values (prometheus-client's multiprocess mode) and /metrics
sums them, whichever worker answers the scrape. The gauges say how: running and queued
turns and calls in flight add up over live workers; a backend is healthy when every live
worker has it in rotation.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

TURNS = Counter(
    "oss_agent_turns_total", "Chat turns, by outcome (ok or the error code).", ["outcome"]
)
TURN_SECONDS = Histogram(
    "oss_agent_turn_seconds",
    "Wall time of a chat turn, model calls and tools included.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
MODEL_CALLS = Counter(
    "oss_agent_model_calls_total", "Upstream model calls, by tool-call mode.", ["mode"]
)
CONTEXT_TRIMS = Counter(
    "oss_agent_context_trims_total",
    "Model calls sent without the oldest turns of their session (it outgrew the context"
    " window), by CONTEXT_STRATEGY.",
    ["strategy"],
)
TOOL_CALLS = Counter(
    "oss_agent_tool_calls_total",
    "Tool calls the model made, by where they went: server (run here), client, or unusable"
    " (unknown tool, arguments unrecoverable or invalid for the schema).",
    ["kind"],
)
SERVER_TOOL_RESULTS = Counter(
    "oss_agent_server_tool_results_total",
    "Server-side tool runs, by tool and result.",
    ["tool", "result"],
)
TURNS_RUNNING = Gauge(
    "oss_agent_turns_running",
    "Turns running now (MAX_CONCURRENT_TURNS).",
    multiprocess_mode="livesum",
)
TURNS_QUEUED = Gauge(
    "oss_agent_turns_queued",
    "Turns waiting for a slot (MAX_QUEUED_TURNS).",
    multiprocess_mode="livesum",
)
BACKEND_IN_FLIGHT = Gauge(
    "oss_agent_backend_in_flight",
    "Model calls in flight, by backend.",
    ["backend"],
    multiprocess_mode="livesum",
)
BACKEND_HEALTHY = Gauge(
    "oss_agent_backend_healthy",
    "1 while a backend is in rotation, 0 when taken out.",
    ["backend"],
    multiprocess_mode="livemin",
)
UPSTREAM_CANCELLED = Counter(
    "oss_agent_upstream_cancelled_total",
    "Model calls whose upstream connection was closed before the reply ended because the"
    " turn was cancelled (the client went away).",
)
QUEUE_WAIT_SECONDS = Histogram(
    "oss_agent_queue_wait_seconds",
    "How long a turn waited for a running slot (0 when one was free).",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
MODEL_CALL_SECONDS = Histogram(
    "oss_agent_model_call_seconds",
    "Wall time of one model call on one backend, by backend.",
    ["backend"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
TIME_TO_FIRST_TOKEN = Histogram(
    "oss_agent_time_to_first_token_seconds",
    "Streamed model calls: from sending the request to the first reply delta, by backend.",
    ["backend"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
OUTPUT_TOKENS_PER_SECOND = Histogram(
    "oss_agent_output_tokens_per_second",
    "Streamed model calls: output tokens per second after the first token, by backend.",
    ["backend"],
    buckets=(1, 5, 10, 20, 40, 60, 80, 100, 150, 200, 300, 500, 1000, 5000),
)
MODEL_CALL_ERRORS = Counter(
    "oss_agent_model_call_errors_total",
    "Failed model calls, by backend and error code (upstream_error, upstream_timeout...).",
    ["backend", "code"],
)
TOOL_SECONDS = Histogram(
    "oss_agent_tool_seconds",
    "Wall time of a server tool run, by tool and result (success or error).",
    ["tool", "result"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or with several workers the
    sum over all of them."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def forget_dead_workers() -> None:
    """Drop the live gauges of worker processes that are gone (uvicorn restarts a worker
    that dies; a turn it was running would otherwise count as running for ever)."""
    folder = os.environ.get(MULTIPROCESS_DIR)
    if not folder:
        return
    for path in Path(folder).glob("gauge_live*_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        if not psutil.pid_exists(pid):
            multiprocess.mark_process_dead(pid, folder)
