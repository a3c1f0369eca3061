"""Answers of the W&B stand-in, one function per GraphQL operation the SDK sends.

Each answer holds the minimal fields the SDK reads (see FACTS.md); unknown
operations get ``{}``, which the SDK accepts for its feature and org queries.
A ``LookupError`` becomes HTTP 404, as W&B answers for a missing sweep.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import yaml

from tests.servers.wandb_suggest import SweepSuggester

if TYPE_CHECKING:
    from tests.servers.wandb_api import WandbStandIn

Answer = Callable[["WandbStandIn", dict[str, Any], str], dict[str, Any]]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _project(server: WandbStandIn, entity: str | None, project: str | None) -> dict[str, Any]:
    entity = entity or server.default_entity
    project = project or "uncategorized"
    return {
        "id": f"project:{entity}/{project}",
        "name": project,
        "entity": {"id": f"entity:{entity}", "name": entity},
    }


def viewer(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    entity = server.default_entity
    return {
        "viewer": {
            "id": "viewer:1",
            "name": entity,
            "entity": entity,
            "username": entity,
            "email": None,
            "admin": False,
            "flags": "{}",
            "deletedAt": None,
            "apiKeys": {"edges": []},
            "teams": {"edges": []},
        }
    }


def upsert_sweep(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    with server.lock:
        if variables.get("id"):  # a state change of an existing sweep
            sweep = next(
                (s for s in server.state.sweeps.values() if s["db_id"] == variables["id"]), None
            )
            if sweep is None:
                raise LookupError("sweep not found")
            if variables.get("state"):
                sweep["state"] = variables["state"]
        else:
            sweep_id = f"sw{len(server.state.sweeps) + 1:06d}"
            config = variables.get("config") or ""
            sweep = {
                "id": sweep_id,
                "db_id": f"sweep:{sweep_id}",
                "entity": variables.get("entityName") or server.default_entity,
                "project": variables.get("projectName") or "uncategorized",
                "config": config,
                "state": variables.get("state") or "RUNNING",
                "created_at": _now(),
                "suggester": SweepSuggester(yaml.safe_load(config) or {}, random.Random(sweep_id)),
            }
            server.state.sweeps[sweep_id] = sweep
    return {
        "upsertSweep": {
            "sweep": {
                "id": sweep["db_id"],
                "name": sweep["id"],
                "project": _project(server, sweep["entity"], sweep["project"]),
            },
            "configValidationWarnings": [],
        }
    }


def _find_sweep(server: WandbStandIn, variables: dict[str, Any]) -> dict[str, Any]:
    sweep = server.state.sweeps.get(variables.get("sweep") or variables.get("sweepName") or "")
    if sweep is None:
        raise LookupError("sweep not found")
    return sweep


def _run_node(run: dict[str, Any]) -> dict[str, Any]:
    """A run as the GraphQL ``Run`` type, with the fields the public API reads."""
    return {
        "id": f"run:{run['id']}",
        "name": run["id"],
        "displayName": run.get("display_name") or run["id"],
        "state": run["state"],
        "config": json.dumps(run.get("config") or {}),
        "summaryMetrics": json.dumps(run.get("summary") or {}),
        "systemMetrics": "{}",
        "tags": run.get("tags") or [],
        "createdAt": run["created_at"],
        "heartbeatAt": run["created_at"],
        "updatedAt": run["created_at"],
        "sweepName": run.get("sweep"),
        "exitcode": run.get("exitcode"),
        "historyLineCount": len(run.get("history") or []),
        "group": run.get("group"),
        "jobType": run.get("job_type"),
        "notes": run.get("notes"),
        "description": run.get("notes"),
        "host": None,
        "readOnly": False,
        "shouldStop": False,
        "failed": run["state"] == "failed",
        "stopped": False,
        "running": run["state"] == "running",
        "sampledHistory": [[]],
        "commit": run.get("commit"),
        "projectId": 1,
        "historyKeys": {"keys": {}, "lastStep": len(run.get("history") or []) - 1},
        "user": {"name": run["entity"], "username": run["entity"]},
        "project": {"name": run["project"], "entity": {"name": run["entity"]}},
    }


def sweep_with_runs(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    with server.lock:
        sweep = _find_sweep(server, variables)
        runs = [r for r in server.state.runs.values() if r.get("sweep") == sweep["id"]]
        node = {
            "id": sweep["db_id"],
            "name": sweep["id"],
            "displayName": sweep["id"],
            "method": (yaml.safe_load(sweep["config"]) or {}).get("method"),
            "state": sweep["state"],
            "description": None,
            "config": sweep["config"],
            "createdAt": sweep["created_at"],
            "heartbeatAt": sweep["created_at"],
            "updatedAt": sweep["created_at"],
            "earlyStopJobRunning": False,
            "bestLoss": None,
            "controller": None,
            "scheduler": None,
            "runCount": len(runs),
            "runCountExpected": None,
            "runs": {"edges": [{"node": _run_node(r)} for r in runs]},
        }
    return {"project": {**_project(server, sweep["entity"], sweep["project"]), "sweep": node}}


def create_agent(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    with server.lock:
        sweep = _find_sweep(server, variables)
        agent_id = f"agent{len(server.state.agents) + 1:04d}"
        server.state.agents[agent_id] = {"id": agent_id, "sweep": sweep["id"], "runs": []}
    return {"createAgent": {"agent": {"id": agent_id}}}


def heartbeat(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """Play the sweep server: one run at a time per agent, then ``exit``.

    The SDK agent stops its loop on an ``exit`` command (it also kills runs still
    going, so ``exit`` is only sent to an agent with nothing running); an empty
    list would make it wait for ever.
    """
    running = json.loads(variables.get("runState") or "{}")
    with server.lock:
        agent = server.state.agents.get(variables.get("id") or "")
        if agent is None:
            raise LookupError("agent not found")
        sweep = server.state.sweeps[agent["sweep"]]
        suggester = sweep["suggester"]
        if any(running.values()):
            commands: list[dict[str, Any]] = []
        elif sweep["state"] != "RUNNING" or suggester.done():
            commands = [{"type": "exit"}]
        else:
            run_id = server.next_id("run")
            args = suggester.next_args()
            agent["runs"].append(run_id)
            server.state.runs[run_id] = _new_run(sweep["entity"], sweep["project"], run_id)
            server.state.runs[run_id].update(sweep=sweep["id"], args=args)
            commands = [
                {
                    "type": "run",
                    "run_id": run_id,
                    "program": (yaml.safe_load(sweep["config"]) or {}).get("program"),
                    "args": args,
                }
            ]
    return {"agentHeartbeat": {"agent": {"id": agent["id"]}, "commands": json.dumps(commands)}}


def _new_run(entity: str, project: str, run_id: str) -> dict[str, Any]:
    return {
        "id": run_id,
        "entity": entity,
        "project": project,
        "sweep": None,
        "tags": [],
        "config": {},
        "summary": {},
        "history": [],
        "exitcode": None,
        "state": "pending",
        "created_at": _now(),
    }


def upsert_bucket(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    run_id = variables.get("name") or server.next_id("run")
    entity = variables.get("entity") or server.default_entity
    project = variables.get("project") or "uncategorized"
    with server.lock:
        if variables.get("sweep") and variables["sweep"] not in server.state.sweeps:
            # W&B refuses a run naming a sweep it does not know (wandb/wandb#8115:
            # "sweep 6obsuqtj not found", 404), e.g. an offline run of a local sweep.
            raise LookupError(f"sweep {variables['sweep']} not found")
        run = server.state.runs.setdefault(run_id, _new_run(entity, project, run_id))
        run.update(entity=entity, project=project)
        if run["state"] == "pending":
            run["state"] = "running"
        if variables.get("sweep"):
            run["sweep"] = variables["sweep"]
        if variables.get("tags") is not None:
            run["tags"] = list(variables["tags"])
        if variables.get("displayName"):
            run["display_name"] = variables["displayName"]
        if variables.get("commit"):
            run["commit"] = variables["commit"]
        if variables.get("groupName"):
            run["group"] = variables["groupName"]
        if variables.get("jobType"):
            run["job_type"] = variables["jobType"]
        if variables.get("notes") is not None:
            run["notes"] = variables["notes"]
        if variables.get("config"):
            # W&B stores config as {"key": {"value": ...}}; keep the plain values.
            raw = json.loads(variables["config"])
            run["config"] = {
                k: v.get("value") if isinstance(v, dict) else v for k, v in raw.items()
            }
        if variables.get("summaryMetrics"):
            run["summary"].update(json.loads(variables["summaryMetrics"]))
    # The project and entity of the answer are where wandb-core streams history to:
    # `wandb sync` without --entity learns the entity from them (no Viewer call).
    bucket = {"id": f"run:{run_id}", "name": run_id, "project": _project(server, entity, project)}
    return {"upsertBucket": {"inserted": True, "bucket": bucket}}


def create_run_files(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    run = variables.get("run") or "run"
    files = variables.get("files") or []
    return {
        "createRunFiles": {
            "runID": f"run:{run}",
            "uploadHeaders": [],
            "files": [
                {"name": name, "uploadUrl": f"{server.url}/upload/{run}/{name}"} for name in files
            ],
        }
    }


def _sweep_filter(filters: Any) -> str | None:
    """The sweep a runs filter asks for: ``{"sweep": id}`` or inside ``{"$and": [...]}``."""
    if isinstance(filters, dict):
        if isinstance(filters.get("sweep"), str):
            return filters["sweep"]
        for value in filters.values():
            if (found := _sweep_filter(value)) is not None:
                return found
    if isinstance(filters, list):
        for item in filters:
            if (found := _sweep_filter(item)) is not None:
                return found
    return None


def get_sweep(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """``Api().sweep(path)``: the sweep fields; its runs come from a ``Runs`` query."""
    with server.lock:
        sweep = server.state.sweeps.get(variables.get("name") or "")
        if sweep is None:
            return {"project": None}
    answer = sweep_with_runs(server, {"sweep": sweep["id"]}, query)
    answer["project"]["sweep"].pop("runs")
    answer["project"]["sweep"]["__typename"] = "Sweep"
    return answer


def _tags_filter(filters: Any) -> set[str] | None:
    """The tags a runs filter asks for with ``{"tags": {"$in": [...]}}`` (any of them)."""
    if isinstance(filters, dict):
        tags = filters.get("tags")
        if isinstance(tags, dict) and isinstance(tags.get("$in"), list):
            return {str(t) for t in tags["$in"]}
        for value in filters.values():
            if (found := _tags_filter(value)) is not None:
                return found
    if isinstance(filters, list):
        for item in filters:
            if (found := _tags_filter(item)) is not None:
                return found
    return None


def runs_query(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """``Api().runs(path, filters, order)``: runs of a project, filtered by sweep or by any
    of some tags if asked, oldest first or (``-created_at``) newest first."""
    filters = json.loads(variables.get("filters") or "{}")
    wanted_sweep = _sweep_filter(filters)
    wanted_tags = _tags_filter(filters)
    with server.lock:
        runs = [
            r
            for r in server.state.runs.values()
            if r["entity"] == (variables.get("entity") or server.default_entity)
            and r["project"] == variables.get("project")
            and (wanted_sweep is None or r.get("sweep") == wanted_sweep)
            and (wanted_tags is None or wanted_tags & set(r.get("tags") or []))
            and r["state"] != "pending"
        ]
        runs.sort(key=lambda r: r["created_at"], reverse=variables.get("order") == "-created_at")
        edges = [{"node": _run_node(r), "cursor": r["id"]} for r in runs]
    return {
        "project": {
            **_project(server, variables.get("entity"), variables.get("project")),
            "internalId": "project:1",
            "readOnly": False,
            "runCount": len(edges),
            "runs": {
                "totalCount": len(edges),
                "edges": edges,
                "pageInfo": {
                    "endCursor": edges[-1]["cursor"] if edges else None,
                    "hasNextPage": False,
                },
            },
        }
    }


# -- artifacts: read a run's model, move aliases, link into a registry (sweepci promote) --------
# Kept beside the other state as ``server.state.artifacts`` (id -> dict) and
# ``server.state.artifact_links`` (one dict per LinkArtifact), created on first use.
# Versions a run uploads online (log_artifact, use_artifact): wandb_artifact_uploads.py.


def _artifact_store(server: WandbStandIn) -> dict[str, dict[str, Any]]:
    return vars(server.state).setdefault("artifacts", {})


def add_artifact(
    server: WandbStandIn,
    *,
    run_id: str,
    name: str,
    type: str,
    metadata: dict | None = None,
    aliases: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Record a committed artifact version logged by ``run_id`` (a seed for tests); ``latest`` moves to it."""
    with server.lock:
        run = server.state.runs[run_id]
        store = _artifact_store(server)
        same = [
            a
            for a in store.values()
            if (a["entity"], a["project"], a["name"]) == (run["entity"], run["project"], name)
            and a["state"] == "COMMITTED"
        ]
        for other in same:
            other["aliases"] = [x for x in other["aliases"] if x != "latest"]
        artifact = {
            "id": f"artifact:{len(store) + 1}",
            "entity": run["entity"],
            "project": run["project"],
            "name": name,
            "type": type,
            "version": len(same),
            "metadata": metadata or {},
            "aliases": ["latest", *aliases],
            "run": run_id,
            "created_at": _now(),
            "state": "COMMITTED",
        }
        store[artifact["id"]] = artifact
    return artifact


def add_finished_run(
    server: WandbStandIn,
    sweep_id: str,
    summary: dict[str, Any],
    *,
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    state: str = "finished",
) -> str:
    """A run of a sweep with its summary, config and tags (a seed for tests); returns its id."""
    run_id = server.next_id("run")
    with server.lock:
        sweep = server.state.sweeps[sweep_id]
        run = _new_run(sweep["entity"], sweep["project"], run_id)
        run.update(
            sweep=sweep_id,
            summary=dict(summary),
            config=dict(config or {}),
            tags=list(tags or []),
            state=state,
            exitcode=0 if state == "finished" else 1,
        )
        server.state.runs[run_id] = run
    return run_id


def add_sweep(server: WandbStandIn, config: dict[str, Any], entity: str, project: str) -> str:
    """A sweep created as ``wandb.sweep`` would (a seed for tests); returns its id."""
    answer = upsert_sweep(
        server,
        {"config": yaml.safe_dump(config), "entityName": entity, "projectName": project},
        "",
    )
    return answer["upsertSweep"]["sweep"]["name"]


def _project_info(entity: str, project: str) -> dict[str, Any]:
    return {
        "id": f"project:{entity}/{project}",
        "internalId": f"project:{entity}/{project}",
        "name": project,
        "entity": {"name": entity},
    }


def _collection(artifact: dict[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "ArtifactSequence",
        "name": artifact["name"],
        "project": _project_info(artifact["entity"], artifact["project"]),
    }


def _artifact_node(artifact: dict[str, Any]) -> dict[str, Any]:
    """An artifact as the SDK's ``ArtifactFragment``."""
    return {
        "__typename": "Artifact",
        "id": artifact["id"],
        "artifactSequence": _collection(artifact),
        "versionIndex": artifact["version"],
        "artifactType": {"name": artifact["type"]},
        "description": artifact.get("description"),
        "metadata": json.dumps(artifact["metadata"]),
        "ttlDurationSeconds": -1,
        "ttlIsInherited": True,
        "tags": [],
        "historyStep": None,
        "state": artifact["state"],
        "size": 1,
        "digest": artifact.get("digest") or f"digest-{artifact['id']}",
        "digestAlgorithm": "MANIFEST_MD5",
        "commitHash": "0" * 12,
        "fileCount": 1,
        "createdAt": artifact["created_at"],
        "updatedAt": artifact["created_at"],
        "aliases": [
            {
                "__typename": "ArtifactAlias",
                "id": f"alias:{artifact['id']}:{alias}",
                "alias": alias,
                "artifactCollection": _collection(artifact),
            }
            for alias in artifact["aliases"]
        ],
    }


def _membership(artifact: dict[str, Any]) -> dict[str, Any]:
    return {
        "__typename": "ArtifactCollectionMembership",
        "id": f"membership:{artifact['id']}",
        "versionIndex": artifact["version"],
        "createdAt": artifact["created_at"],
        "aliases": [
            {"__typename": "ArtifactAlias", "id": f"alias:{artifact['id']}:{a}", "alias": a}
            for a in artifact["aliases"]
        ],
        "artifactCollection": _collection(artifact),
        "artifact": _artifact_node(artifact),
    }


def run_query(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """``Api().run(path)``: one run, or a null run (the SDK says "Could not find run")."""
    with server.lock:
        run = server.state.runs.get(variables.get("name") or "")
        node = _run_node(run) if run and run["project"] == variables.get("project") else None
    return {"project": {"run": node}}


def run_input_artifacts(
    server: WandbStandIn, variables: dict[str, Any], query: str
) -> dict[str, Any]:
    """``run.used_artifacts()``: the versions the run declared as inputs (use_artifact)."""
    with server.lock:
        found = [
            a
            for a in _artifact_store(server).values()
            if variables.get("run") in a.get("used_by", []) and a["state"] == "COMMITTED"
        ]
        edges = [{"node": _artifact_node(a)} for a in found]
    page = {"__typename": "PageInfo", "endCursor": None, "hasNextPage": False}
    return {
        "project": {
            "run": {"artifacts": {"totalCount": len(edges), "pageInfo": page, "edges": edges}}
        }
    }


def run_output_artifacts(
    server: WandbStandIn, variables: dict[str, Any], query: str
) -> dict[str, Any]:
    """``run.logged_artifacts()``: the versions the run logged."""
    with server.lock:
        found = [
            a
            for a in _artifact_store(server).values()
            if a["run"] == variables.get("run") and a["state"] == "COMMITTED"
        ]
        edges = [{"node": _artifact_node(a)} for a in found]
    page = {"__typename": "PageInfo", "endCursor": None, "hasNextPage": False}
    return {
        "project": {
            "run": {"artifacts": {"totalCount": len(edges), "pageInfo": page, "edges": edges}}
        }
    }


def artifact_membership_by_name(
    server: WandbStandIn, variables: dict[str, Any], query: str
) -> dict[str, Any]:
    """``Api().artifact("ENTITY/PROJECT/NAME:ALIAS")`` (or ``:vN``); null when nothing holds it."""
    name, _, tag = (variables.get("name") or "").partition(":")
    with server.lock:
        found = [
            a
            for a in _artifact_store(server).values()
            if (a["entity"], a["project"], a["name"])
            == (variables.get("entity"), variables.get("project"), name)
            and (tag in a["aliases"] or tag == f"v{a['version']}")
        ]
        membership = _membership(found[0]) if found else None
    return {"project": {"artifactCollectionMembership": membership}}


def artifact_created_by(
    server: WandbStandIn, variables: dict[str, Any], query: str
) -> dict[str, Any]:
    with server.lock:
        artifact = _artifact_store(server)[variables["id"]]
        run = server.state.runs[artifact["run"]]
    creator = {
        "__typename": "Run",
        "id": f"run:{run['id']}",
        "name": run["id"],
        "project": _project_info(run["entity"], run["project"]),
    }
    return {"artifact": {"createdBy": creator}}


def _move_aliases(server: WandbStandIn, artifact_id: str, aliases: list[str]) -> dict[str, Any]:
    """Give the version these aliases, taking them from other versions of its name (as W&B does)."""
    store = _artifact_store(server)
    artifact = store[artifact_id]
    for other in store.values():
        same_name = (other["entity"], other["project"], other["name"]) == (
            artifact["entity"],
            artifact["project"],
            artifact["name"],
        )
        if same_name and other is not artifact:
            other["aliases"] = [a for a in other["aliases"] if a not in aliases]
    artifact["aliases"] += [a for a in aliases if a not in artifact["aliases"]]
    return artifact


def update_artifact(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """``artifact.save()`` on a committed version: metadata and description (aliases: AddAliases)."""
    update = variables.get("input") or {}
    with server.lock:
        artifact = _artifact_store(server)[update["artifactID"]]
        if update.get("metadata"):
            artifact["metadata"] = json.loads(update["metadata"])
        if update.get("aliases") is not None:  # servers without AddAliases take them here
            _move_aliases(server, artifact["id"], [a["alias"] for a in update["aliases"]])
        node = _artifact_node(artifact)
    return {"result": {"artifact": node}}


def add_aliases(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    update = variables.get("input") or {}
    with server.lock:
        _move_aliases(
            server, update["artifactID"], [a["alias"] for a in update.get("aliases") or []]
        )
    return {"result": {"success": True}}


def link_artifact(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """``artifact.link(path, aliases)``: remember the link (registry portfolio, aliases)."""
    link = dict(variables.get("input") or {})
    with server.lock:
        vars(server.state).setdefault("artifact_links", []).append(link)
        artifact = dict(_artifact_store(server)[link["artifactID"]])
    artifact.update(
        entity=link.get("entityName") or artifact["entity"],
        project=link.get("projectName") or artifact["project"],
        name=link.get("artifactPortfolioName") or artifact["name"],
        aliases=[a["alias"] for a in link.get("aliases") or []],
    )
    membership = _membership(artifact)
    membership["artifactCollection"]["__typename"] = "ArtifactPortfolio"
    return {"result": {"versionIndex": 0, "artifactMembership": membership}}


def fetch_org_info(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """The organization registries belong to (``wandb-registry-*`` projects live in its entity)."""
    org = {"name": "standin-org", "orgEntity": {"name": "standin-org-entity"}}
    return {"entity": {"organization": org, "user": {"organizations": [org]}}}


ANSWERS: dict[str, Answer] = {
    "Viewer": viewer,
    "GetViewer": viewer,
    "GetDefaultEntity": viewer,
    "UpsertSweep": upsert_sweep,
    "SweepWithRuns": sweep_with_runs,
    "GetSweep": get_sweep,
    "CreateAgent": create_agent,
    "Heartbeat": heartbeat,
    "UpsertBucket": upsert_bucket,
    "CreateRunFiles": create_run_files,
    "Runs": runs_query,
    "Run": run_query,
    "RunOutputArtifacts": run_output_artifacts,
    "RunInputArtifacts": run_input_artifacts,
    "ArtifactMembershipByName": artifact_membership_by_name,
    "ArtifactCreatedBy": artifact_created_by,
    "UpdateArtifact": update_artifact,
    "AddAliases": add_aliases,
    "LinkArtifact": link_artifact,
    "FetchOrgInfoFromEntity": fetch_org_info,
}


def answer_graphql(
    server: WandbStandIn, operation: str | None, variables: dict[str, Any], query: str
) -> dict[str, Any]:
    """The ``data`` of the answer to one GraphQL request."""
    # Imported here: the upload answers build on this module's artifact helpers.
    from tests.servers.wandb_artifact_uploads import ANSWERS as UPLOAD_ANSWERS

    answer = ANSWERS.get(operation or "") or UPLOAD_ANSWERS.get(operation or "")
    return answer(server, variables, query) if answer else {}


def record_file_stream(
    server: WandbStandIn, entity: str, project: str, run_id: str, body: dict[str, Any]
) -> None:
    """Keep history lines, the latest summary and the exit code of a run."""
    with server.lock:
        run = server.state.runs.setdefault(run_id, _new_run(entity, project, run_id))
        files = body.get("files") or {}
        for line in (files.get("wandb-history.jsonl") or {}).get("content") or []:
            run["history"].append(json.loads(line))
        summary_lines = (files.get("wandb-summary.json") or {}).get("content") or []
        if summary_lines:
            run["summary"] = json.loads(summary_lines[-1])
        if body.get("complete"):
            run["exitcode"] = body.get("exitcode")
            run["state"] = "finished" if body.get("exitcode") == 0 else "failed"
