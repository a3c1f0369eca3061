"""The store's SQL schema, version by version: each migration upgrades from the version before.

A new version adds one `_Vn_TO_Vm` script and its line in MIGRATIONS, raises
SCHEMA_VERSION, and saves a store file of the old version in tests/assets
with an upgrade test (as Optuna keeps one per schema).
"""

from __future__ import annotations

SCHEMA_VERSION = 6

_SCHEMA_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sweeps (
    id TEXT PRIMARY KEY,
    name TEXT,
    project TEXT NOT NULL,
    env TEXT,
    backend TEXT NOT NULL DEFAULT 'local',
    method TEXT NOT NULL,
    metric_name TEXT,
    metric_goal TEXT,
    config_json TEXT NOT NULL,
    sweep_file TEXT,
    seed INTEGER NOT NULL DEFAULT 0,
    shard_index INTEGER NOT NULL DEFAULT 0,
    shard_count INTEGER NOT NULL DEFAULT 1,
    status TEXT NOT NULL DEFAULT 'running',
    status_reason TEXT,
    context_json TEXT NOT NULL DEFAULT '{}',
    flags_json TEXT NOT NULL DEFAULT '{}',
    remote_path TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    sweep_id TEXT NOT NULL REFERENCES sweeps(id),
    seq INTEGER NOT NULL,
    config_key TEXT NOT NULL,
    config_json TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    exit_code INTEGER,
    stderr_tail TEXT,
    tags_json TEXT NOT NULL DEFAULT '[]',
    agent_id TEXT,
    host TEXT,
    pid INTEGER,
    pgid INTEGER,
    heartbeat_at REAL,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    metric_value REAL,
    summary_json TEXT NOT NULL DEFAULT '{}',
    branch TEXT,
    sha TEXT,
    env TEXT,
    run_dir TEXT,
    UNIQUE (sweep_id, seq)
);
CREATE INDEX runs_by_sweep_state ON runs (sweep_id, state, metric_value);
CREATE INDEX runs_by_sha ON runs (sha);
CREATE INDEX runs_by_branch ON runs (branch, created_at);
CREATE INDEX runs_by_created ON runs (created_at);
CREATE TABLE history (
    run_id TEXT NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    data_json TEXT NOT NULL,
    PRIMARY KEY (run_id, step)
) WITHOUT ROWID;
"""

# v2: leaderboards of 100k-run sweeps read in metric order from an index
_V1_TO_V2 = """
CREATE INDEX runs_by_sweep_metric ON runs (sweep_id, metric_value);
"""

# v3: runs uploaded to W&B (`sweepci sync`), and the artifact area: content-addressed
# blobs, versioned artifacts with aliases, lineage (which run used which artifact)
# and promotions (who gave which model an alias, when, from which commit)
_V2_TO_V3 = """
CREATE TABLE synced_runs (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    remote_path TEXT NOT NULL,
    synced_at REAL NOT NULL
);
CREATE TABLE blobs (
    digest TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    path TEXT NOT NULL
);
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    version INTEGER NOT NULL,
    digest TEXT NOT NULL,
    run_id TEXT REFERENCES runs(id),
    sweep_id TEXT REFERENCES sweeps(id),
    metadata_json TEXT NOT NULL DEFAULT '{}',
    manifest_json TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    UNIQUE (name, version),
    UNIQUE (name, digest)
);
CREATE TABLE artifact_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    PRIMARY KEY (name, alias)
);
CREATE TABLE artifact_usage (
    run_id TEXT NOT NULL REFERENCES runs(id),
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    PRIMARY KEY (run_id, artifact_id)
);
CREATE TABLE promotions (
    id INTEGER PRIMARY KEY,
    sweep_id TEXT,
    run_id TEXT,
    artifact_id INTEGER REFERENCES artifacts(id),
    alias TEXT NOT NULL,
    previous_artifact_id INTEGER,
    forced INTEGER NOT NULL DEFAULT 0,
    actor TEXT,
    sha TEXT,
    note TEXT,
    at REAL NOT NULL
);
"""

# v4: a run that reran another run's commit and config (`sweepci reproduce`) names it
_V3_TO_V4 = """
ALTER TABLE runs ADD COLUMN reproduces TEXT;
CREATE INDEX runs_by_reproduces ON runs (reproduces);
"""

# v5: the GPU(s) each run saw (its CUDA_VISIBLE_DEVICES under `--gpus`)
_V4_TO_V5 = """
ALTER TABLE runs ADD COLUMN devices TEXT;
"""

# v6: each run's metric as the search reads it (hyperband's bracket values, bayes's
# extremum and latest value), kept up to date while the run goes so that parallel
# agents judge their runs against each other's (see trials/trace.py)
_V5_TO_V6 = """
CREATE TABLE run_traces (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    metric TEXT NOT NULL,
    trace_json TEXT NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;
"""

# version -> SQL that upgrades from version-1 to version
MIGRATIONS: dict[int, str] = {
    1: _SCHEMA_V1,
    2: _V1_TO_V2,
    3: _V2_TO_V3,
    4: _V3_TO_V4,
    5: _V4_TO_V5,
    6: _V5_TO_V6,
}
