"""Answers of the W&B stand-in to what wandb-core sends when a run logs or uses an artifact online.

``run.log_artifact(a)`` and ``run.use_artifact(a)`` (a new ``wandb.Artifact``)
send, in order: ``ArtifactType`` (the Python SDK checks the name's type; only
for ``use_artifact``), ``CreateArtifact`` (``PENDING``, or an existing
``COMMITTED`` version with the same digest, which ends the upload),
``CreateArtifactManifest`` (twice: first without an upload URL, then with one
for ``wandb_manifest.json``), ``CreateArtifactFiles`` (an upload URL per
file, PUT to this server), ``CommitArtifact``, and for ``use_artifact``
``UseArtifact`` then ``ArtifactByID`` (``artifact.wait()``).
``UpdateArtifactManifest`` replaces the manifest of an incremental artifact.

Versions live in ``server.state.artifacts`` beside the ones ``add_artifact``
seeds, with the same keys plus ``state``, ``digest``, ``description``,
``files`` (name -> upload path), ``manifest`` (the uploaded JSON) and
``used_by`` (run ids). A version gets its ``vN`` and aliases at commit, as
on W&B, so pending uploads never show in queries by name or alias.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tests.servers.wandb_graphql import _artifact_node, _artifact_store, _move_aliases, _now

if TYPE_CHECKING:
    from tests.servers.wandb_api import WandbStandIn

Version = dict[str, Any]


def _versions(server: WandbStandIn, entity: str, project: str, name: str) -> list[Version]:
    """Committed versions of one artifact name in one project, oldest first."""
    return sorted(
        (
            a
            for a in _artifact_store(server).values()
            if (a["entity"], a["project"], a["name"]) == (entity, project, name)
            and a["state"] == "COMMITTED"
        ),
        key=lambda a: a["version"],
    )


def _upload_path(artifact_id: str, name: str) -> str:
    return f"/upload/artifacts/{artifact_id.replace(':', '-')}/{quote(name)}"


def artifact_type(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """The type of ``NAME:ALIAS`` (or ``NAME:vN``) in a project; null when no version holds it."""
    name, _, tag = (variables.get("name") or "").partition(":")
    entity = variables.get("entity") or server.default_entity
    with server.lock:
        found = [
            a
            for a in _versions(server, entity, variables.get("project") or "", name)
            if tag in a["aliases"] or tag == f"v{a['version']}"
        ]
    artifact = {"artifactType": {"name": found[0]["type"]}} if found else None
    return {"project": {"artifact": artifact}}


def create_artifact(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """A pending version; or, for content W&B already holds, that committed version."""
    spec = variables.get("input") or {}
    entity = spec.get("entityName") or server.default_entity
    project, name = spec["projectName"], spec["artifactCollectionName"]
    aliases = [a["alias"] for a in spec.get("aliases") or []]
    with server.lock:
        versions = _versions(server, entity, project, name)
        same = [v for v in versions if v.get("digest") == spec.get("digest")]
        if same and spec.get("enableDigestDeduplication", True):
            artifact = same[0]
            _move_aliases(server, artifact["id"], aliases)
        else:
            store = _artifact_store(server)
            artifact = {
                "id": f"artifact:{len(store) + 1}",
                "entity": entity,
                "project": project,
                "name": name,
                "type": spec["artifactTypeName"],
                "version": None,
                "metadata": json.loads(spec.get("metadata") or "{}"),
                "aliases": [],
                "run": spec.get("runName"),  # null for use_artifact; the manifest names the run
                "created_at": _now(),
                "state": "PENDING",
                "digest": spec.get("digest"),
                "description": spec.get("description"),
                "pending_aliases": aliases,
                "files": {},
                "manifest": None,
                "used_by": [],
            }
            store[artifact["id"]] = artifact
        latest = next((v for v in versions if "latest" in v["aliases"]), None)
    sequence = {"latestArtifact": {"id": latest["id"]} if latest else None}
    node = {"id": artifact["id"], "state": artifact["state"], "artifactSequence": sequence}
    return {"createArtifact": {"artifact": node}}


def artifact_manifest(
    server: WandbStandIn, variables: dict[str, Any], query: str
) -> dict[str, Any]:
    """``CreateArtifactManifest``/``UpdateArtifactManifest``: where ``wandb_manifest.json`` goes."""
    artifact_id = variables["artifactID"]
    with server.lock:
        artifact = _artifact_store(server)[artifact_id]
        if variables.get("runName"):
            artifact["run"] = variables["runName"]
    file = {
        "id": f"file:{artifact_id}:manifest",
        "uploadUrl": server.url + _upload_path(artifact_id, "wandb_manifest.json"),
        "uploadHeaders": [],
    }
    key = (
        "updateArtifactManifest" if "updateArtifactManifest" in query else "createArtifactManifest"
    )
    return {key: {"artifactManifest": {"id": f"manifest:{artifact_id}", "file": file}}}


def create_artifact_files(
    server: WandbStandIn, variables: dict[str, Any], query: str
) -> dict[str, Any]:
    """One upload URL per file of the pending version (single part: no multipart URLs)."""
    edges = []
    with server.lock:
        for spec in (variables.get("input") or {}).get("artifactFiles") or []:
            artifact = _artifact_store(server)[spec["artifactID"]]
            path = _upload_path(artifact["id"], spec["name"])
            artifact["files"][spec["name"]] = path
            node = {
                "storagePath": f"wandb_artifacts/{artifact['id']}/{spec['name']}",
                "uploadUrl": server.url + path,
                "uploadHeaders": [],
                "uploadMultipartUrls": None,
                "artifact": {"id": artifact["id"]},
            }
            edges.append({"node": node})
    return {"createArtifactFiles": {"files": {"edges": edges}}}


def commit_artifact(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """The pending version becomes the next ``vN`` and takes its aliases (``latest`` moves)."""
    with server.lock:
        artifact = _artifact_store(server)[variables["artifactID"]]
        if artifact["state"] != "COMMITTED":
            versions = _versions(server, artifact["entity"], artifact["project"], artifact["name"])
            artifact.update(state="COMMITTED", version=len(versions))
            manifest = server.state.uploads.get(_upload_path(artifact["id"], "wandb_manifest.json"))
            artifact["manifest"] = json.loads(manifest) if manifest else None
            _move_aliases(server, artifact["id"], artifact.pop("pending_aliases", []))
    return {"commitArtifact": {"artifact": {"id": artifact["id"], "digest": artifact["digest"]}}}


def use_artifact(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    """Record the run as a user of the version (its input, in W&B's lineage)."""
    spec = variables.get("input") or {}
    with server.lock:
        artifact = _artifact_store(server)[spec["artifactID"]]
        if spec.get("runName") and spec["runName"] not in artifact["used_by"]:
            artifact["used_by"].append(spec["runName"])
    return {"useArtifact": {"artifact": {"id": artifact["id"]}}}


def artifact_by_id(server: WandbStandIn, variables: dict[str, Any], query: str) -> dict[str, Any]:
    with server.lock:
        artifact = _artifact_store(server).get(variables.get("id") or "")
        node = _artifact_node(artifact) if artifact else None
    return {"artifact": node}


def uploaded_file(server: WandbStandIn, artifact: Version, name: str) -> bytes:
    """The bytes the SDK PUT for one file of an artifact version."""
    with server.lock:
        return server.state.uploads[artifact["files"][name]]


ANSWERS = {
    "ArtifactType": artifact_type,
    "CreateArtifact": create_artifact,
    "CreateArtifactManifest": artifact_manifest,
    "UpdateArtifactManifest": artifact_manifest,
    "CreateArtifactFiles": create_artifact_files,
    "CommitArtifact": commit_artifact,
    "UseArtifact": use_artifact,
    "ArtifactByID": artifact_by_id,
}
