"""What a merge of stores added, skipped and could not reconcile (counts and names)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MergeResult:
    sweeps_added: int = 0
    runs_added: int = 0
    runs_skipped: int = 0
    history_rows: int = 0
    artifacts_added: int = 0
    aliases_added: int = 0
    usage_added: int = 0
    promotions_added: int = 0
    blobs_copied: int = 0
    #: digests of blobs a source names but does not hold (its files were not uploaded with it)
    blobs_missing: list[str] = field(default_factory=list)
    #: aliases the output already gave another version, artifact names of two types
    conflicts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
