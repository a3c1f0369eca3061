"""The third-party actions the generated workflows use, pinned by full commit SHA.

A tag such as `v4` can be moved to other code at any time; a 40-hex commit
cannot. The version comment beside each pin tells a reader (and Dependabot or
Renovate, which update SHA pins and their comments together) what the commit
is. To upgrade, change one line here, then `sweepci workflow render`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SHA = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class Pin:
    repository: str  # owner/name
    sha: str  # full commit SHA
    version: str  # the release tag that points at `sha`

    def __post_init__(self) -> None:
        if not _SHA.fullmatch(self.sha):
            raise ValueError(f"{self.repository}: pin {self.sha!r} is not a full 40-hex commit SHA")

    @property
    def ref(self) -> str:
        """`owner/name@sha`, the exact string act's --local-repository must match."""
        return f"{self.repository}@{self.sha}"

    @property
    def uses(self) -> str:
        """The value of a step's `uses:` with its version comment."""
        return f"{self.ref} # {self.version}"


PINS: dict[str, Pin] = {
    "checkout": Pin("actions/checkout", "11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2"),
    "setup_python": Pin(
        "actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0"
    ),
    "upload_artifact": Pin(
        "actions/upload-artifact", "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2"
    ),
    "download_artifact": Pin(
        "actions/download-artifact", "d3f86a106a0bac45b974a628896c90dbdf5c8093", "v4.3.0"
    ),
    # .github/workflows/release.yml: PyPI trusted publishing (checked against the tag's commit)
    "pypi_publish": Pin(
        "pypa/gh-action-pypi-publish", "81e9d935c883d0b210363ab89cf05f3894778450", "v1.8.14"
    ),
}
