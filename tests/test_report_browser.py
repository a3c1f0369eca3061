"""The HTML report in a real headless Chromium: it paints, on a wide screen and on a phone.

Needs Debian's `chromium` (apt-get install -y chromium); skipped, saying so,
only when no chromium binary is found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from orchestrator.report import render_report
from tests.test_report import ALLOWED_URL, URL, build_store, failing_every

CHROMIUM = (
    os.environ.get("SWEEPCI_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)"
)


def screenshot(page: Path, out: Path, width: int, height: int = 2000) -> object:
    """Load `page` in headless Chromium, save a PNG, return it as an RGB(A) float array."""
    from matplotlib import image

    profile = out.parent / f"profile-{width}"
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
        f"--screenshot={out}", f"--window-size={width},{height}", page.resolve().as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and out.exists(), proc.stderr[-2000:]
    return image.imread(str(out))


def _blue_pixels(pixels: object) -> int:
    """Pixels of the chart blue (#2563eb), present only where charts painted."""
    import numpy as np

    rgb = np.asarray(pixels)[..., :3]
    target = np.array([0x25, 0x63, 0xEB]) / 255.0
    return int((np.abs(rgb - target).max(axis=-1) < 0.08).sum())


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    db = build_store(
        tmp / "s.db", runs=60, state=failing_every(9), extra={"note": "</td><script>x</script>"}
    )
    html = tmp / "report.html"
    html.write_text(render_report(db, fmt="html", top=15), encoding="utf-8")
    return html


def test_report_paints_with_charts_on_a_wide_screen(page: Path) -> None:
    import numpy as np

    text = page.read_text()
    assert text.count("<svg") == 5
    assert all(ALLOWED_URL.match(u) for u in URL.findall(text))
    pixels = np.asarray(screenshot(page, page.parent / "wide.png", 1280))
    assert pixels.shape[1] == 1280
    assert float(pixels[..., :3].var()) > 0.005, "the screenshot is blank"
    # the charts (blue points and bars) are below the tables; they must have painted
    assert _blue_pixels(pixels) > 500


def test_report_fits_a_phone(page: Path) -> None:
    import numpy as np

    pixels = np.asarray(screenshot(page, page.parent / "phone.png", 390, 3000))
    assert pixels.shape[1] == 390
    assert float(pixels[..., :3].var()) > 0.005
    assert _blue_pixels(pixels) > 200
    # nothing wider than the screen: the right edge column is page background, not cut content
    right_edge = pixels[:, -4:, :3]
    assert float(right_edge.min()) > 0.9, "content overflows the phone width"


LOG_SWEEP = {
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 1.0e-5, "max": 0.1},
        "max_depth": {"distribution": "int_uniform", "min": 1, "max": 6},
        "model": {"values": ["gbm", "forest", "svm"]},
        "dataset": {"value": "wine"},
    }
}


class _Svg(HTMLParser):
    """Text of every <text> in the DOM, with the ids of the <g> groups around it."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.texts: list[tuple[tuple[str, ...], str]] = []
        self._in_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "g":
            self.stack.append(dict(attrs).get("id") or "")
        elif tag == "text":
            self._in_text = True
            self.texts.append((tuple(self.stack), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "g" and self.stack:
            self.stack.pop()
        elif tag == "text":
            self._in_text = False

    def handle_data(self, data: str) -> None:
        if self._in_text and self.texts:
            groups, text = self.texts[-1]
            self.texts[-1] = (groups, text + data)


def rendered_dom(page: Path, tmp: Path) -> _Svg:
    """The page's DOM after Chromium loaded and laid it out (`--dump-dom`)."""
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp / 'profile-dom'}", "--dump-dom", page.resolve().as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "<svg" in proc.stdout, proc.stderr[-2000:]
    parser = _Svg()
    parser.feed(proc.stdout)
    return parser


def _tick_labels(dom: _Svg, axes_gid: str, axis: str = "xtick_") -> list[str]:
    return [
        text.strip()
        for groups, text in dom.texts
        if axes_gid in groups and any(g.startswith(axis) for g in groups) and text.strip()
    ]


def _axes_with_label(dom: _Svg, prefix: str, label: str) -> str:
    for groups, text in dom.texts:
        if text.strip().startswith(label):
            found = [g for g in groups if g.startswith(prefix)]
            if found:
                return found[-1]
    raise AssertionError(f"no {prefix}* axes labelled {label!r}")


def test_log_distributed_parameters_get_log_axes_with_power_of_ten_ticks(tmp_path: Path) -> None:
    import math
    import random
    import re

    rng = random.Random(3)
    db = build_store(
        tmp_path / "log.db", runs=40, sweep_config=LOG_SWEEP,
        vary=lambda seq: {"learning_rate": 10 ** rng.uniform(-5, -1), "max_depth": rng.randint(1, 6)},
    )  # fmt: skip
    page = tmp_path / "log.html"
    page.write_text(render_report(db, fmt="html", top=15), encoding="utf-8")

    dom = rendered_dom(page, tmp_path)

    lr_axes = _axes_with_label(dom, "scatter-", "learning_rate")
    ticks = _tick_labels(dom, lr_axes)
    assert len(ticks) >= 3, ticks
    assert all(re.fullmatch(r"[0-9.e+-]+", t) for t in ticks), f"not plain numbers: {ticks}"
    assert all(float(t) > 0 for t in ticks), f"a linear axis: {ticks}"
    exponents = [math.log10(float(t)) for t in ticks]
    assert all(abs(e - round(e)) < 1e-9 for e in exponents), f"not powers of ten: {ticks}"
    assert [round(e) for e in exponents] == sorted({round(e) for e in exponents}), ticks
    depth_axes = _axes_with_label(dom, "scatter-", "max_depth")
    assert depth_axes != lr_axes and "max_depth (log)" not in [t for _, t in dom.texts]
    # the run axis counts runs: whole numbers only
    runs = _tick_labels(dom, "metric-over-time-axes")
    assert runs and all(float(t.replace("\u2212", "-")).is_integer() for t in runs), runs
    pixels = screenshot(page, tmp_path / "log.png", 1280, 3200)
    assert _blue_pixels(pixels) > 500
