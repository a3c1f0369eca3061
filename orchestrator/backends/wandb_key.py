"""Where the W&B API key comes from, and what a failed W&B call was.

The key is `WANDB_API_KEY`, or the one `wandb login` saved in the netrc file
(`$NETRC`, else `~/.netrc`) for the W&B host, exactly as the SDK itself finds
it. It is only ever held in memory and handed to the SDK's environment; it is
never written, logged or put into a message.

A failed call is one of three things for the user, each with its own line:
the network (DNS, refused, timed out), the key (W&B said no), or W&B's server
(HTTP 5xx). The SDK reports all three as "failed to verify credentials".
"""

from __future__ import annotations

import netrc
import os
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

KEY_VARIABLE = "WANDB_API_KEY"
DEFAULT_BASE_URL = "https://api.wandb.ai"
_MAX_NETRC_BYTES = 64 * 1024

_NETWORK = re.compile(
    r"no such host|connection refused|connect: |dial tcp|i/o timeout|timed out|timeout|"
    r"name or service not known|temporary failure in name resolution|failed to establish|"
    r"network is unreachable|connection reset|max retries exceeded|nodename nor servname",
    re.IGNORECASE,
)
_SERVER = re.compile(r"HTTP 5\d\d|\b5\d\d (?:Server Error|Internal|Bad Gateway|Service)", re.I)


def netrc_path(env: Mapping[str, str]) -> Path | None:
    """The netrc file `wandb login` writes: $NETRC, else $HOME/.netrc."""
    if env.get("NETRC"):
        return Path(env["NETRC"])
    home = env.get("HOME")
    return Path(home) / ".netrc" if home else None


def netrc_key(env: Mapping[str, str]) -> str | None:
    """The key saved by `wandb login` for the W&B host of WANDB_BASE_URL, or None."""
    path = netrc_path(env)
    host = urllib.parse.urlsplit(env.get("WANDB_BASE_URL") or DEFAULT_BASE_URL).hostname
    if path is None or not host:
        return None
    try:
        if not path.is_file() or path.stat().st_size > _MAX_NETRC_BYTES:
            return None
        entry = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError, UnicodeDecodeError):
        return None
    if entry is None:
        return None
    key = entry[2]
    return key if key and key.strip() == key and len(key) >= 40 else None


def find_key(env: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(key, where it came from): the environment first, then `wandb login`'s netrc."""
    env = os.environ if env is None else env
    if env.get(KEY_VARIABLE):
        return env[KEY_VARIABLE], KEY_VARIABLE
    key = netrc_key(env)
    if key:
        return key, f"the key `wandb login` saved in {netrc_path(env)}"
    return None, ""


def with_key(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with WANDB_API_KEY filled in from the netrc file when only that holds it."""
    out = dict(env)
    if not out.get(KEY_VARIABLE):
        key = netrc_key(out)
        if key:
            out[KEY_VARIABLE] = key
    return out


def failure_kind(message: str) -> str:
    """ "network", "server" or "key" for the text of a failed W&B call."""
    if _SERVER.search(message):
        return "server"
    if _NETWORK.search(message):
        return "network"
    return "key"


def failure_line(message: str, action: str, base_url: str | None) -> str:
    """One line for a failed W&B call, by what failed (the message is already scrubbed)."""
    where = base_url or DEFAULT_BASE_URL
    kind = failure_kind(message)
    if kind == "network":
        return (
            f"cannot reach W&B at {where} to {action} (network: DNS, proxy or firewall): {message}"
        )
    if kind == "server":
        return f"W&B at {where} answered with a server error while trying to {action}; try again later: {message}"
    return (
        f"W&B rejected the API key ({KEY_VARIABLE}, or the key `wandb login` saved) "
        f"while trying to {action}: {message}"
    )
