"""A trial (a run as a sampler sees it) and the stable identity of its configuration."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: trial states a sampler sees; pending = handed out, no result yet.
PENDING, FINISHED, FAILED, KILLED = "pending", "finished", "failed", "killed"


@dataclass(frozen=True)
class Trial:
    """A run as a sampler sees it: its flat config, its metric value, its state."""

    config: Mapping[str, Any]
    value: float | None = None
    state: str = FINISHED
    # intermediate values of the metric by step, for early termination
    history: Sequence[float] = field(default_factory=tuple)

    @property
    def has_value(self) -> bool:
        return self.value is not None and math.isfinite(self.value)


def config_key(flat: Mapping[str, Any]) -> str:
    """A stable identity for a configuration (grid de-duplication, merges)."""
    text = json.dumps(flat, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
