"""`sweepci artifacts list|show|get` and `sweepci promote`: the models and datasets runs logged."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from orchestrator.cli.common import json_option, print_json, store_option


@click.group()
def artifacts() -> None:
    """List, show and fetch the artifacts (models, datasets) that runs logged.

    An artifact is named NAME (its latest version), NAME:ALIAS (e.g.
    wine-model:production) or NAME:vN.
    """


def _when(timestamp: float | None) -> str:
    return dt.datetime.fromtimestamp(timestamp).isoformat(timespec="seconds") if timestamp else "-"


@artifacts.command("list")
@click.option(
    "--type", "type_", default=None, help="Only artifacts of this type (model, dataset, ...)."
)
@click.option("--name", default=None, help="Only the versions of this artifact.")
@store_option
@json_option
def list_(type_: str | None, name: str | None, store_path: str, as_json: bool) -> int:
    """List artifact versions, newest version first per name."""
    from orchestrator.report.leaderboard import render_table
    from orchestrator.store import open_store
    from orchestrator.store.artifacts import list_artifacts

    with open_store(store_path, create=False, readonly=True) as store:
        items = list_artifacts(store, name=name, type=type_)
    if as_json:
        print_json([a.to_json() for a in items])
        return 0
    rows = [
        [
            a.name,
            f"v{a.version}",
            a.type,
            ",".join(a.aliases) or "-",
            a.run_id or "-",
            str(sum(f.get("size", 0) for f in a.files)),
            _when(a.created_at),
        ]
        for a in items
    ]
    click.echo(
        render_table(["name", "version", "type", "aliases", "run", "bytes", "created"], rows)
    )
    return 0


def describe(store: Any, spec: str) -> dict[str, Any]:
    """An artifact version with its lineage: producing run, commit, the datasets that run used, promotions."""
    from orchestrator.store.artifacts import lineage_for_run, resolve
    from orchestrator.store.promotions import promotions

    artifact = resolve(store, spec)
    info: dict[str, Any] = {"artifact": artifact.to_json(), "run": None, "commit": None, "used": []}
    if artifact.run_id:
        lineage = lineage_for_run(store, artifact.run_id)
        info.update(
            run=lineage["run"],
            commit=lineage["commit"],
            used=[a for a in lineage["used"] if a["id"] != artifact.id],
        )
    info["promotions"] = [
        p for p in promotions(store, artifact.name) if p["artifact_id"] == artifact.id
    ]
    return info


@artifacts.command()
@click.argument("spec", metavar="NAME[:ALIAS|:vN]")
@store_option
@json_option
def show(spec: str, store_path: str, as_json: bool) -> int:
    """Show one artifact version: the run and commit that made it, the dataset it came from, metadata."""
    from orchestrator.store import open_store

    with open_store(store_path, create=False, readonly=True) as store:
        info = describe(store, spec)
    if as_json:
        print_json(info)
        return 0
    a, run = info["artifact"], info["run"]
    click.echo(f"artifact   {a['label']} ({a['type']})  aliases: {', '.join(a['aliases']) or '-'}")
    click.echo(f"digest     {a['digest']}")
    if run:
        value = run.get("metric_value")
        click.echo(
            f"run        {run['id']} of sweep {run['sweep_id']} ({run['state']}"
            + (f", {run.get('metric_name') or 'metric'}={value:.6g}" if value is not None else "")
            + ")"
        )
        click.echo(
            f"commit     {run.get('sha') or '-'} (branch {run.get('branch') or '-'}, env {run.get('env') or '-'})"
        )
    else:
        click.echo("run        - (not logged by a run in this store)")
    for used in info["used"] or [None]:
        if used is None:
            click.echo("used       - (the run declared no input artifact)")
        else:
            click.echo(
                f"{used['type']:<10} {used['label']}  digest {used['digest'][:12]}"
                + (
                    f"  sha256 {used['metadata']['sha256'][:12]}"
                    if "sha256" in used["metadata"]
                    else ""
                )
            )
    click.echo(
        f"created    {_when(a['created_at'])}"
        + (f"; also logged by {', '.join(a['logged_by'][1:])}" if len(a["logged_by"]) > 1 else "")
    )
    for f in a["files"]:
        click.echo(
            f"file       {f['path']}  {f.get('size', 0)} bytes  "
            + (f"sha256 {f['sha256'][:12]}" if f.get("sha256") else f"ref {f.get('ref')}")
        )
    for p in info["promotions"]:
        click.echo(
            f"promoted   {p['alias']} by {p['actor'] or '?'} at {_when(p['at'])} from commit {(p['sha'] or '-')[:12]}"
            + (" (forced)" if p["forced"] else "")
        )
    click.echo("metadata   " + json.dumps(a["metadata"], sort_keys=True))
    return 0


@artifacts.command()
@click.argument("spec", metavar="NAME[:ALIAS|:vN]")
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory to write the files to (default: ./artifacts/NAME-vN).",
)
@store_option
@json_option
def get(spec: str, out_dir: str | None, store_path: str, as_json: bool) -> int:
    """Copy an artifact version's files out of the store."""
    from orchestrator.store import open_store
    from orchestrator.store.artifacts import resolve
    from orchestrator.store.blobs import export_files

    with open_store(store_path, create=False, readonly=True) as store:
        artifact = resolve(store, spec)
        target = out_dir or f"artifacts/{artifact.name}-v{artifact.version}"
        written = export_files(store, artifact, target)
    if as_json:
        print_json(
            {"artifact": artifact.label, "directory": target, "files": [str(p) for p in written]}
        )
    else:
        click.echo(f"{artifact.label}: {len(written)} file(s) in {target}")
        for path in written:
            click.echo(f"  {path}")
    return 0


@click.command()
@click.argument("sweep_id")
@click.option(
    "--alias", default="production", show_default=True, help="The alias to give the model."
)
@click.option(
    "--to",
    "registry",
    default=None,
    metavar="REGISTRY_PATH",
    help="W&B sweeps: also link the model into this registry collection "
    "(e.g. wandb-registry-model/wine-classifier).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Promote even when worse than the current holder of the alias (recorded).",
)
@click.option(
    "--allow-dirty",
    is_flag=True,
    help="Local use only: promote from a tree with uncommitted changes (recorded).",
)
@click.option(
    "--project-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Project file (default: ./sweepci.yaml).",
)
@store_option
@json_option
def promote(
    sweep_id: str,
    alias: str,
    registry: str | None,
    force: bool,
    allow_dirty: bool,
    project_file: str | None,
    store_path: str,
    as_json: bool,
) -> int:
    """Give the model of SWEEP_ID's best finished run an alias (default: production).

    SWEEP_ID is a local sweep id (or 'latest'), or ENTITY/PROJECT/ID for a W&B
    sweep. Only prod sweeps, from a checkout that passes the prod guard; a model
    worse than the current holder of the alias is refused unless --force.
    """
    from orchestrator.commands.promote import promote as run_promotion

    result = run_promotion(
        sweep_id,
        alias=alias,
        registry=registry,
        force=force,
        allow_dirty=allow_dirty,
        project_file=project_file,
        store_path=store_path,
    )
    if as_json:
        print_json(result.to_json())
    else:
        for line in result.lines():
            click.echo(line)
    return 0
