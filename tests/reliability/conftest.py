"""Fixtures of the reliability suite: the CLI fork server and the figures record.

Figures (inputs tried, faults injected, runs lost, duplicates, leaks,
throughput) go to `.pytest_cache/d/sweepci-reliability/`, one JSON file per
test; `python -m tests.reliability.figures` prints their table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator

import pytest

from tests.reliability.helpers import CliServer


@pytest.fixture(scope="module")
def cli() -> Iterator[CliServer]:
    server = CliServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """record(name=value, ...): add this test's figures to the suite's table."""
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    node = request.node.nodeid
    target = None
    if cache is not None:
        target = cache.mkdir("sweepci-reliability") / (
            hashlib.sha1(node.encode()).hexdigest()[:16] + ".json"
        )

    def record(**values: float) -> None:
        if target is not None:
            data = (
                json.loads(target.read_text()) if target.exists() else {"test": node, "figures": {}}
            )
            data["figures"].update(values)
            target.write_text(json.dumps(data, indent=1))
        for name, value in values.items():
            request.node.user_properties.append((name, value))

    return record
