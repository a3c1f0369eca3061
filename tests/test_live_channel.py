"""The live metrics channel: both line shapes, bad lines skipped and counted, incremental reads."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from orchestrator.agent.channel import ChannelReader, parse_row
from orchestrator.agent.live import format_line
from orchestrator.agent.livemetrics import LiveMetrics, ThinnedRows


def test_flat_lines_like_wandb_log_and_step_lines_both_count() -> None:
    assert parse_row(b'{"loss": 0.1, "_step": 3}') == {"loss": 0.1, "_step": 3}
    assert parse_row(b'{"val/loss": 0.2}') == {"val/loss": 0.2}
    assert parse_row(b'{"step": 4, "metrics": {"f1": 0.9}, "t": 1.5}') == {"f1": 0.9, "_step": 4}
    assert parse_row(b'{"step": null, "metrics": {"f1": 0.9}}') == {"f1": 0.9}
    # nested dicts flatten as W&B flattens them; strings and lists are not metrics
    assert parse_row(b'{"val": {"loss": 0.3}, "name": "x", "l": [1]}') == {"val.loss": 0.3}
    # W&B's own keys (_runtime, _timestamp) are not metrics
    assert parse_row(b'{"a": 1, "_runtime": 2.0}') == {"a": 1}
    # report_metric writes the step shape
    assert parse_row(format_line(2, {"f1": 0.5}, now=1.0)) == {"f1": 0.5, "_step": 2}


@pytest.mark.parametrize(
    "line",
    [
        b"[1, 2]",
        b'"text"',
        b"not json",
        b'{"step": NaN, "metrics": {"f1": 0.5}}',  # what report_metric(step=float("nan")) writes
        b'{"step": Infinity, "metrics": {"f1": 0.5}}',
        b'{"_step": "3", "loss": 0.1}',
        b'{"_step": -1, "loss": 0.1}',
        b'{"_step": 2.5, "loss": 0.1}',
        b'{"_step": true, "loss": 0.1}',
        b'{"name": "no numbers here"}',
        b"{}",
        b'{"a": ' * 100000 + b"1" + b"}" * 100000,  # too deep for the JSON parser
    ],
)
def test_malformed_lines_are_refused_one_by_one(line: bytes) -> None:
    from orchestrator.agent.channel import BadLine

    with pytest.raises(BadLine):
        parse_row(line)


def test_nan_values_are_kept_as_wandb_keeps_them() -> None:
    row = parse_row(b'{"loss": NaN, "acc": 0.5}')
    assert math.isnan(row["loss"]) and row["acc"] == 0.5


def test_reader_skips_counts_and_warns_once(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    lines = [
        b'{"loss": 1.0}',
        b"garbage",
        b'{"step": NaN, "metrics": {"loss": 0.5}}',
        b'{"loss": 0.8, "_step": 5}',
        b"x" * 200,  # longer than this reader's max_line
        b"[]",
        b'{"step": 6, "metrics": {"loss": 0.7}}',
    ]
    path.write_bytes(b"\n".join(lines) + b'\n{"loss": 0.')  # a partial last line
    reader = ChannelReader(path, max_line=100, chunk=64)
    rows: list[dict] = []
    while reader.offset < path.stat().st_size:
        rows.extend(reader.read())
    assert rows == [{"loss": 1.0}, {"loss": 0.8, "_step": 5}, {"loss": 0.7, "_step": 6}]
    assert reader.skipped == 4  # the partial last line is not counted while the program runs
    rows = [row for batch in reader.drain() for row in batch]
    assert rows == [] and reader.skipped == 5
    warning = reader.warning("r1")
    assert warning is not None and warning.count("\n") == 0
    assert warning.startswith("run r1: 5 line(s) of metrics.jsonl skipped")
    assert "not JSON" in warning


def test_a_last_line_without_newline_counts_once_the_program_exited(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"loss": 1.0}\n{"loss": 0.5}')
    reader = ChannelReader(path)
    assert reader.read() == [{"loss": 1.0}]
    assert [r for batch in reader.drain() for r in batch] == [{"loss": 0.5}]
    assert reader.skipped == 0 and reader.warning("r") is None


def test_a_line_longer_than_the_bound_is_skipped_without_being_held(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    with open(path, "wb") as fh:
        fh.write(b'{"loss": 1.0}\n')
        fh.write(b'{"pad": "' + b"y" * 300_000)  # no newline yet: still being written
    reader = ChannelReader(path, max_line=1000, chunk=4096)
    rows = []
    for _ in range(200):
        rows.extend(reader.read())
        assert len(reader._partial) <= 1000
    with open(path, "ab") as fh:
        fh.write(b'"}\n{"loss": 0.5}\n')
    for _ in range(5):
        rows.extend(reader.read())
    assert rows == [{"loss": 1.0}, {"loss": 0.5}]
    assert reader.skipped == 1 and "longer than 1000 bytes" in reader.examples[0]


def test_a_replaced_file_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"loss": 1.0}\n{"loss": 0.9}\n')
    reader = ChannelReader(path)
    assert len(reader.read()) == 2
    path.write_bytes(b'{"loss": 0.1}\n')
    assert reader.read() == [{"loss": 0.1}]


def test_not_a_regular_file_or_a_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.jsonl"
    target.write_bytes(b'{"loss": 1.0}\n')
    link = tmp_path / "metrics.jsonl"
    link.symlink_to(target)
    reader = ChannelReader(link)
    assert reader.read() == [] and reader.skipped == 1
    assert reader.read() == [] and reader.skipped == 1  # counted once
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    reader = ChannelReader(fifo)
    assert reader.read() == [] and "not a regular file" in (reader.warning("r") or "")


def test_live_metrics_prefer_wandb_log_and_keep_the_last_value(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text(
        "\n".join(json.dumps({"step": i, "metrics": {"loss": 9.0, "extra": i}}) for i in range(3))
        + "\n"
    )
    live = LiveMetrics(tmp_path, "loss", bands={1, 3})
    live.update()
    assert live.trace().n == 3 and live.trace().at == {1: 9.0, 3: 9.0}
    assert live.summary() == {"loss": 9.0, "extra": 2}  # the last value, not the first
    (tmp_path / "wandb-log.jsonl").write_text(
        "\n".join(json.dumps({"loss": 1.0 / (i + 1), "_step": i}) for i in range(4)) + "\n"
    )
    live.update()
    live.finish()
    trace = live.trace()
    assert (trace.n, trace.at, trace.latest, trace.low) == (4, {1: 1.0, 3: 1 / 3}, 0.25, 0.25)
    assert live.summary() == {"loss": 0.25, "extra": 2}
    assert [r["_step"] for r in live.history()] == [0, 1, 2, 3]


def test_thinned_rows_stay_bounded_and_even() -> None:
    rows = ThinnedRows(max_rows=100)
    for i in range(10_000):
        rows.add({"_step": i, "v": i})
    assert len(rows.rows) < 100
    steps = [r["_step"] for r in rows.rows]
    assert steps[0] == 0 and len({b - a for a, b in zip(steps, steps[1:])}) == 1


def test_report_metric_takes_names_with_slashes_in_a_dict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator import report_metric

    target = tmp_path / "metrics.jsonl"
    monkeypatch.setenv("SWEEPCI_METRICS_FILE", str(target))
    report_metric({"val/loss": 0.3}, step=4)
    report_metric(5, f1=0.9)  # the step first, as before
    reader = ChannelReader(target)
    assert reader.read() == [{"val/loss": 0.3, "_step": 4}, {"f1": 0.9, "_step": 5}]
