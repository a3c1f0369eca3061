"""The agent process: W&B's own ``wandb agent``, with two sweepci adjustments.

``run_agent`` in ``wandb_sdk.py`` starts this module as
``python -m orchestrator.backends.wandb_agent_child ENTITY/PROJECT/SWEEP_ID --count N``.
It calls ``wandb.wandb_agent.agent`` exactly as the ``wandb agent`` command does
(same process model: the agent heartbeats to the W&B sweep server and starts each
run as a child process with the sweep's ``command``), and changes only:

- ``Agent.POLL_INTERVAL``: the CLI agent sleeps 5 s before its first heartbeat
  and after every run; sweepci lowers it so short runs do not idle.
- the run config: the SDK's documented hook for extra config, ``WANDB_CONFIG_PATHS``,
  makes ``wandb.init`` fail in wandb 0.31 (the setting expects a list and the
  environment gives a string; checked, see tests/test_wandb_sdk.py). The agent
  already writes each run's parameters to the YAML file that ``wandb.init`` loads
  (``WANDB_SWEEP_PARAM_PATH``), so the ``ci`` context is added to that file. It
  does not touch the command line, so ``${args}`` stays the sweep's parameters.

Exit codes: 0 when the agent stopped normally, 3 when it could not work with
W&B (the reason on the last stderr line, prefixed ``sweepci-agent:``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

ERROR_PREFIX = "sweepci-agent:"
EXIT_BACKEND = 3


def _add_to_every_run_config(extra: dict[str, Any]) -> None:
    """Make the agent's per-run parameter file also carry ``extra``."""
    from wandb.sdk.lib import config_util

    write_parameters = config_util.save_config_file_from_dict

    def write_parameters_and_extra(path: str, parameters: dict[str, Any]) -> None:
        # A sweep parameter of the same name wins: the user asked for it.
        merged = {**{name: {"value": value} for name, value in extra.items()}, **parameters}
        write_parameters(path, merged)

    config_util.save_config_file_from_dict = write_parameters_and_extra


def main(argv: list[str] | None = None) -> int:
    """Run one W&B sweep agent until ``--count`` runs finished or the sweep is done."""
    parser = argparse.ArgumentParser(prog="python -m orchestrator.backends.wandb_agent_child")
    parser.add_argument("sweep", help="ENTITY/PROJECT/SWEEP_ID")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--extra-config", help="JSON file of config to add to every run")
    args = parser.parse_args(argv)
    try:
        from wandb import wandb_agent
    except ImportError:
        print(f"{ERROR_PREFIX} the W&B SDK is not installed", file=sys.stderr)
        return EXIT_BACKEND

    wandb_agent.Agent.POLL_INTERVAL = args.poll_interval
    if args.extra_config:
        with open(args.extra_config, encoding="utf-8") as handle:
            _add_to_every_run_config(json.load(handle))
    try:
        # forward_signals: a cancelled CI job (SIGTERM) stops the run, not just the agent.
        wandb_agent.agent(args.sweep, count=args.count, forward_signals=True)
    except Exception as exc:  # every SDK failure: say it on one line for the parent
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{ERROR_PREFIX} {type(exc).__name__}: {message}", file=sys.stderr)
        return EXIT_BACKEND
    return 0


if __name__ == "__main__":
    sys.exit(main())
