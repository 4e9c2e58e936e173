"""The viewer in a real browser: streamlit serves the app on localhost, headless Chromium renders it.

Chromium is driven over the DevTools protocol with the ``websockets`` client that streamlit itself depends on, so no
extra package is needed. The test switches views, waits (bounded) until plotly has drawn a chart, and saves
screenshots under pytest's tmp dir; with ``XSTILTS_SCREENSHOT=path.png`` the overview (the landing view) is also
copied there (the README's figure), with ``XSTILTS_SCREENSHOT_ENCODERS=path.png`` the encoder comparison;
``XSTILTS_VIEWER_RESULTS=DIR`` shows another results folder (e.g. results/mini), ``XSTILTS_VIEWER_FLOORS=FILE`` with
its floors. ``tools/make_screenshots.py`` (``make screenshots``) regenerates the README's pictures this way. Skips when
Chromium is not installed (Debian: ``apt-get install chromium``).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "viewer" / "app.py"
FIXTURE = REPO / "tests" / "fixtures" / "results_demo"
WAIT_S = 60
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                  "--no-proxy-server", "--hide-scrollbars", "--window-size=1500,1100"]
# localhost must never go through a proxy configured in the environment
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _chromium() -> str | None:
    for candidate in (os.environ.get("XSTILTS_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(what: str, check, timeout: float = WAIT_S, every: float = 0.25):
    """Polls ``check`` until it returns something truthy; fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - any transient failure (connection refused, page not ready) retries
            last_exc = exc
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_exc!r})")


def _stop(proc: subprocess.Popen) -> None:
    """Ends a process group started by this test (streamlit, or chromium with its helpers)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)


class DevTools:
    """The smallest DevTools-protocol client: send a command, wait for its answer (events are skipped)."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=None, open_timeout=WAIT_S)
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        deadline = time.monotonic() + WAIT_S
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression: str):
        out = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"page script failed: {out['exceptionDetails']}")
        return out["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self.ws.close()


CHART_READY = """(() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg'));
  const running = document.querySelector('[data-testid="stStatusWidget"]');
  const header = [...document.querySelectorAll('h2')].map(h => h.innerText).join(' | ');
  return JSON.stringify({plots: plots.length, running: !!running, header: header});
})()"""


def _click_view(dt: DevTools, label: str) -> bool:
    return dt.js(f"""(() => {{
      const labels = [...document.querySelectorAll('[data-testid="stSidebar"] label')];
      const hit = labels.find(l => l.innerText.trim() === {json.dumps(label)});
      if (hit) {{ hit.click(); return true; }}
      return false;
    }})()""")


def _wait_chart(dt: DevTools, header_part: str, plots: int = 1) -> dict:
    def ready():  # every chart of the view drawn (a view's later charts arrive after its first)
        state = json.loads(dt.js(CHART_READY))
        return state if state["plots"] >= plots and not state["running"] and header_part in state["header"] else None

    state = _wait_for(f"a rendered plotly chart under a header containing {header_part!r}", ready)
    time.sleep(1.0)  # let plotly finish its transitions before the screenshot
    return state


@pytest.mark.slow
def test_viewer_in_headless_chromium(tmp_path: Path) -> None:
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium not installed (apt-get install chromium); set XSTILTS_CHROMIUM to use another binary")
    pytest.importorskip("websockets.sync.client", reason="websockets (a streamlit dependency) is not importable")
    port = _free_port()
    env = {**os.environ, "NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost,127.0.0.1"}
    env.pop("XSTILTS_RESULTS", None)
    server_log = open(tmp_path / "streamlit.log", "w")
    # cwd is the tmp dir on purpose: the app must work when started from anywhere
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false",
         "--", "--results", os.environ.get("XSTILTS_VIEWER_RESULTS", str(FIXTURE)),
         *(["--floors", os.environ["XSTILTS_VIEWER_FLOORS"]] if os.environ.get("XSTILTS_VIEWER_FLOORS") else [])],
        cwd=tmp_path, env=env, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True)
    browser = None
    dt = None
    try:
        url = f"http://127.0.0.1:{port}"

        def healthy():
            if server.poll() is not None:
                pytest.fail(f"streamlit exited with {server.returncode}: {(tmp_path / 'streamlit.log').read_text()}")
            return _LOCAL.open(f"{url}/_stcore/health", timeout=2).read() == b"ok"

        _wait_for("streamlit to answer its health check", healthy)
        profile = tmp_path / "chromium-profile"
        browser = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=open(tmp_path / "chromium.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
        # Chromium picks a free DevTools port itself and writes it here (no race with another process)
        port_file = profile / "DevToolsActivePort"
        devtools_port = _wait_for("Chromium's DevTools port", lambda: port_file.is_file() and
                                  port_file.read_text().split("\n")[0].strip()).strip()
        targets = _wait_for("a Chromium page target", lambda: [
            t for t in json.loads(_LOCAL.open(f"http://127.0.0.1:{devtools_port}/json/list", timeout=2).read())
            if t.get("type") == "page"])
        dt = DevTools(targets[0]["webSocketDebuggerUrl"])
        dt.call("Emulation.setDeviceMetricsOverride", width=1500, height=1100, deviceScaleFactor=1, mobile=False)
        dt.call("Page.navigate", url=url)

        first = _wait_chart(dt, "compare across XTREME")  # the landing view is the overview
        assert first["plots"] >= 1
        shot = tmp_path / "overview.png"
        dt.screenshot(shot)
        assert shot.stat().st_size > 10_000, "the screenshot is suspiciously small (blank page?)"
        # the overview's grid is drawn: heatmap cells and the shared colour bar
        heatmap_cells = "document.querySelectorAll('.js-plotly-plot .hm, .js-plotly-plot .heatmaplayer image').length"
        assert dt.js(heatmap_cells) >= 1
        assert dt.js("document.querySelectorAll('.js-plotly-plot .colorbar').length") >= 1
        assert _wait_for("the sidebar view switch", lambda: _click_view(dt, "Multilingual vs English-only"))
        second = _wait_chart(dt, "Multilingual vs English-only", plots=2)
        assert second["plots"] >= 2
        dt.screenshot(tmp_path / "encoders.png")
        assert _click_view(dt, "Overview: tasks × encoders")
        _wait_chart(dt, "compare across XTREME")
        for variable, source in (("XSTILTS_SCREENSHOT", shot),
                                 ("XSTILTS_SCREENSHOT_ENCODERS", tmp_path / "encoders.png")):
            if os.environ.get(variable):
                target = Path(os.environ[variable])
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    finally:
        if dt is not None:
            dt.close()
        if browser is not None:
            _stop(browser)
        _stop(server)
        server_log.close()
