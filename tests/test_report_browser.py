"""The report opens in headless Chromium with the network cut off: every plot renders, every gallery image
loads, nothing logs an error, and a screenshot is taken (its path is printed; run pytest with -s to see it).

Chromium: Debian's `chromium` package. When it is missing, the test installs it if it runs as root with
apt-get available (as in the project's container), else it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from test_report_helpers import seeded

from echo.report import html

pytestmark = pytest.mark.slow

FIGURES = ("funnel", "volume", "mix", "polarity", "keywords", "categories", "map", "lengths", "diversity")


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture(scope="session")
def chromium() -> str:
    path = _find_chromium()
    if path:
        return path
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get): "
                    "apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    try:
        if subprocess.run(install, env=env, capture_output=True, timeout=900).returncode != 0:
            # A new machine has no package lists yet: fetch them once, then try again.
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True, timeout=600)
            subprocess.run(install, env=env, check=True, capture_output=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        out = getattr(e, "stderr", b"") or b""
        pytest.skip(f"apt-get install chromium failed: {out.decode(errors='replace')[-400:]}")
    path = _find_chromium()
    if not path:
        pytest.skip("apt-get installed chromium but no chromium binary was found")
    return path


def _chromium(binary: str, profile: Path, *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           # Offline proof: every host name fails to resolve and any connection would go to a dead proxy.
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           "--virtual-time-budget=15000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _console_problems(stderr: str) -> list[str]:
    """Console output of the page (Chromium logs console.error and uncaught errors alike as INFO:CONSOLE;
    the report logs nothing, so any line is a problem) and failed network requests."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line or "net::ERR_" in line]


def test_console_check_catches_errors_and_network_use(chromium, tmp_path):
    """The checks themselves: a page with an uncaught error, a console.error and an external image fails them."""
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="https://example.com/x.png"><script>throw new Error("boom")</script>'
                   '<script>console.error("bad thing")</script></body></html>')
    run = _chromium(chromium, tmp_path / "profile", "--dump-dom", bad.resolve().as_uri())
    problems = "\n".join(_console_problems(run.stderr))
    assert "boom" in problems and "bad thing" in problems


def test_report_renders_in_headless_chromium(chromium, config, tmp_path):
    store, run_id = seeded(config, tmp_path)
    with store:
        path, _ = html.build_report(store, config, run_id)
    url = path.resolve().as_uri()

    dom_run = _chromium(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom_run.returncode == 0, dom_run.stderr[-2000:]
    assert not _console_problems(dom_run.stderr), _console_problems(dom_run.stderr)
    soup = BeautifulSoup(dom_run.stdout, "html.parser")

    # The page's own error hook saw nothing (script errors and elements that failed to load).
    errors = soup.find(id="js-errors")
    assert errors is not None and errors.get("data-count") == "0" and not errors.get_text(strip=True)

    # Every figure was drawn by plotly.js: its div holds a plot container with an SVG.
    for name in FIGURES:
        div = soup.find(id=f"fig-{name}")
        assert div is not None, name
        assert div.select(".plot-container") and div.select("svg.main-svg"), f"figure {name} did not render"
    # Traces drew marks: map points, bars, the funnel and the donuts.
    assert len(soup.select("#fig-map .scatterlayer path.point")) == 10 + 3 * 4
    assert soup.select("#fig-volume .barlayer path") and soup.select("#fig-funnel .funnellayer path")
    assert len(soup.select("#fig-mix .pielayer .slice")) >= 4

    # Gallery: inline images only.
    imgs = soup.select("article.g-item img")
    assert len(imgs) == 9 + 2
    assert all(img["src"].startswith("data:image/webp;base64,") for img in imgs)

    shot = tmp_path / "report.png"
    shot_run = _chromium(chromium, tmp_path / "profile-shot", "--hide-scrollbars", "--window-size=1400,5000",
                         f"--screenshot={shot}", url)
    assert shot_run.returncode == 0 and shot.is_file(), shot_run.stderr[-2000:]
    assert not _console_problems(shot_run.stderr), _console_problems(shot_run.stderr)
    with Image.open(shot) as im:
        assert im.size == (1400, 5000)
        colors = im.convert("RGB").resize((140, 500)).getcolors(maxcolors=100_000)
        assert colors is not None and len(colors) > 200  # a drawn page, not a blank one
    print(f"\nreport screenshot: {shot}")
