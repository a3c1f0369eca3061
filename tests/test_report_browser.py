"""The HTML report in a real headless Chromium: it paints, on a wide screen and on a phone.

Needs Debian's `chromium` (apt-get install -y chromium); skipped, saying so,
only when no chromium binary is found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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
    assert text.count("<svg") == 4
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
