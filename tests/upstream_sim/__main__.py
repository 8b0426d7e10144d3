"""Run the simulator: `python -m tests.upstream_sim --host 127.0.0.1 --port N [--flavor vllm]`."""

from __future__ import annotations

import argparse
from typing import get_args

import uvicorn

from tests.upstream_sim.app import create_app
from tests.upstream_sim.steps import FlavorName


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.upstream_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--flavor", choices=get_args(FlavorName), default="vllm")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.flavor),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        # A "hang" step holds its connection open forever; don't let it block shutdown.
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
