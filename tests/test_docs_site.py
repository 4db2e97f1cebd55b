"""The documentation site: its examples run, its API reference covers every public name, and
the built site renders in headless Chromium (a non-blank screenshot, no console errors).

The site is built with ``mkdocs build --strict`` (the ``docs`` extra), or taken from
``$FNN_DOCS_SITE`` when CI has just built it; Chromium is driven through the DevTools protocol
over a pipe (``--remote-debugging-pipe``: JSON messages ending in a NUL byte), so nothing
beyond the standard library and NumPy is needed. ``$FNN_DOCS_SCREENSHOTS`` keeps the PNGs.
Each test skips, saying what is missing, without mkdocs, griffe or Chromium.
"""

from __future__ import annotations

import base64
import contextlib
import doctest
import functools
import http.server
import importlib.util
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np
import pytest

import fnn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
               if "_hooks" not in p.parts)
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                 "google-chrome"))), None)
NO_MKDOCS = "mkdocs is not installed (pip install -e '.[docs]')"
NO_GRIFFE = "griffe is not installed (pip install -e '.[docs]')"
NO_CHROMIUM = "chromium is not installed (apt-get install -y chromium)"


def _missing(reason: str) -> None:
    """Skip, or fail where $FNN_REQUIRE_DOCS says the docs tests must run (.ci/run)."""
    if os.environ.get("FNN_REQUIRE_DOCS"):
        pytest.fail(f"FNN_REQUIRE_DOCS is set but {reason}")
    pytest.skip(reason)


def _griffe() -> None:
    if importlib.util.find_spec("griffe") is None:
        _missing(NO_GRIFFE)


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fnn_docs_hooks",
                                                  DOCS / "_hooks" / "fnn_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- the pages' examples


@pytest.mark.parametrize("page", [p for p in PAGES if ">>> " in (DOCS / p).read_text()])
def test_every_example_of_the_page_runs(page, tmp_path, monkeypatch):
    """Each page's ``>>>`` examples, as doctests, in a scratch directory."""
    monkeypatch.chdir(tmp_path)
    text = (DOCS / page).read_text()
    test = doctest.DocTestParser().get_doctest(text, {"np": np, "fnn": fnn}, page, page, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)


# --------------------------------------------------------------------------- the API reference


def test_the_api_reference_covers_every_public_module_and_name():
    _griffe()
    problems = _hooks().coverage_problems(ROOT)
    assert not problems, "\n".join(problems)


def test_an_undocumented_public_name_or_module_is_reported(tmp_path):
    _griffe()
    package = tmp_path / "fnn"
    package.mkdir()
    (package / "__init__.py").write_text('"""Root."""\n__all__ = ["f"]\nfrom fnn.mod import f\n')
    (package / "mod.py").write_text(
        '"""A module."""\n__all__ = ["f", "g", "K"]\n\ndef f():\n    pass\n\n'
        'def g():\n    """Documented."""\n\nclass K:\n    """A class."""\n'
        '    def method(self):\n        pass\n')
    (package / "bare.py").write_text("X = 1\n")
    (tmp_path / "docs" / "api").mkdir(parents=True)
    (tmp_path / "docs" / "api" / "index.md").write_text("::: fnn\n\n::: fnn.mod\n")
    problems = _hooks().coverage_problems(tmp_path)
    assert problems == [
        "public module fnn.bare has no API page (a '::: fnn.bare' in docs/api/)",
        "fnn.f (function fnn.mod.f) has no docstring",
        "module fnn.bare has no docstring",
        "module fnn.bare has no __all__, so its public names are unknown",
        "fnn.mod.K.method (a public method) has no docstring"]


def test_docstring_doctests_and_literal_blocks_become_code_blocks():
    spec = importlib.util.spec_from_file_location("griffe_doctests",
                                                  DOCS / "_hooks" / "griffe_doctests.py")
    _griffe()
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = "Sum.\n\n>>> 1 + 1\n2\n\nA file::\n\n    {\"a\": 1}\n    [2]\n\nEnd."
    assert module.to_markdown(text) == (
        'Sum.\n\n```pycon\n>>> 1 + 1\n2\n```\n\nA file:\n\n```text\n{"a": 1}\n[2]\n```\n\nEnd.')


# --------------------------------------------------------------------------- the built site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: $FNN_DOCS_SITE, or a fresh ``mkdocs build --strict``."""
    if os.environ.get("FNN_DOCS_SITE"):
        built = Path(os.environ["FNN_DOCS_SITE"])
        assert (built / "index.html").is_file(), f"FNN_DOCS_SITE={built} holds no built site"
        return built
    if importlib.util.find_spec("mkdocs") is None:
        _missing(NO_MKDOCS)
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(out)], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-5000:]}"
    return out


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The site over HTTP on a free local port (its search worker needs http, not file)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Browser:
    """Headless Chromium spoken to over the DevTools pipe (file descriptors 3 and 4)."""

    def __init__(self, executable: str, profile: Path) -> None:
        to_chrome, self._send_fd = os.pipe()
        self._read_fd, from_chrome = os.pipe()
        args = [executable, "--headless", "--remote-debugging-pipe", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--hide-scrollbars", f"--user-data-dir={profile}", "about:blank"]
        # bash moves the pipe ends to the descriptors Chromium expects, 3 and 4
        moves = f'exec "$@" 3<&{to_chrome} 4>&{from_chrome} {to_chrome}<&- {from_chrome}>&-'
        self.process = subprocess.Popen(["bash", "-c", moves, "chromium", *args],
                                        pass_fds=(to_chrome, from_chrome),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            self.call("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._send_fd)
        os.close(self._read_fd)

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read_fd], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                raise OSError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)  # type: ignore[no-any-return]

    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: str | None = None, timeout: float = 60) -> dict[str, Any]:
        """Send one command; return its result, keeping the events that arrive meanwhile."""
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self._send_fd, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]  # type: ignore[no-any-return]
            self.events.append(message)

    def wait_for(self, method: str, session: str, timeout: float = 60) -> None:
        """Read events until ``method`` arrives for ``session``."""
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method and e.get("sessionId") == session
                      for e in self.events):
            self.events.append(self._message(deadline))

    def settle(self, seconds: float) -> None:
        """Keep reading events for ``seconds`` (late console messages, lazy images)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._message(deadline))
        except TimeoutError:
            pass


class Visit(NamedTuple):
    """What a page showed: its screenshot, console errors, facts measured in the page, and a
    screenshot of its first learning-curve figure (None without one)."""

    png: bytes
    errors: list[str]
    facts: dict[str, Any]
    figure: bytes | None


_FACTS = """(() => ({
  title: document.title,
  h1: document.querySelector('h1') ? document.querySelector('h1').textContent : null,
  docObjects: document.querySelectorAll('.doc.doc-object').length,
  images: Array.from(document.images).map(i => ({src: i.getAttribute('src'),
      complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})),
}))()"""


_FIGURE_BOX = """(() => {
  const i = document.querySelector('img[src*="figures/"]');
  if (!i) return null;
  i.scrollIntoView();
  const r = i.getBoundingClientRect();
  return {x: r.x + window.scrollX, y: r.y + window.scrollY, width: r.width, height: r.height,
          scale: 1};
})()"""


def _console_errors(events: list[dict[str, Any]], session: str) -> list[str]:
    errors = []
    for e in (e for e in events if e.get("sessionId") == session):
        p = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                 for a in p.get("args", [])))
        elif e.get("method") == "Runtime.exceptionThrown":
            errors.append("exception: " + p["exceptionDetails"].get("text", ""))
        elif e.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
            errors.append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}")
    return errors


def visit(browser: Browser, url: str) -> Visit:
    """Open ``url`` in a new tab; return its screenshot, console errors and page facts."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget",
                           {"targetId": target, "flatten": True})["sessionId"]
    for method in ("Page.enable", "Runtime.enable", "Log.enable"):
        browser.call(method, session=session)
    browser.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900,
                 "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.call("Page.navigate", {"url": url}, session=session)
    browser.wait_for("Page.loadEventFired", session)
    browser.settle(1.5)
    facts = browser.call("Runtime.evaluate", {"expression": _FACTS, "returnByValue": True},
                         session=session)["result"]["value"]
    shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=session)
    box = browser.call("Runtime.evaluate", {"expression": _FIGURE_BOX, "returnByValue": True},
                       session=session)["result"].get("value")
    figure = None if box is None else base64.b64decode(browser.call(
        "Page.captureScreenshot", {"format": "png", "clip": box, "captureBeyondViewport": True},
        session=session)["data"])
    browser.call("Target.closeTarget", {"targetId": target})
    return Visit(base64.b64decode(shot["data"]), _console_errors(browser.events, session), facts,
                 figure)


def decode_png(data: bytes) -> np.ndarray:
    """The pixels of an 8-bit, non-interlaced RGB or RGBA PNG as a (height, width, channels)
    uint8 array (what Chromium writes), undoing each row's filter."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unexpected PNG header {header}"
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        _unfilter(kind, line, previous, bpp)
        rows.append(bytes(line))
        previous = line
    return np.frombuffer(b"".join(rows), np.uint8).reshape(height, width, bpp)


def _unfilter(kind: int, line: bytearray, up: bytearray, bpp: int) -> None:
    if kind == 1:
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 0xFF
    elif kind == 2:
        line[:] = ((np.frombuffer(line, np.uint8).astype(np.uint16)
                    + np.frombuffer(up, np.uint8)) & 0xFF).astype(np.uint8).tobytes()
    elif kind == 3:
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + up[i]) >> 1)) & 0xFF
    elif kind == 4:
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = up[i], up[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    else:
        assert kind == 0, f"unknown PNG filter {kind}"


class Ink(NamedTuple):
    """How much a screenshot shows: grey-level spread, and the share unlike the background."""

    std: float
    inked: float


def ink(pixels: np.ndarray) -> Ink:
    """The standard deviation of the grey levels, and the fraction of pixels that differ
    from the most common colour by more than 16 grey levels."""
    grey = pixels[..., :3].astype(np.float64).mean(axis=2)
    values, counts = np.unique(grey.round(), return_counts=True)
    background = values[counts.argmax()]
    return Ink(float(grey.std()), float((np.abs(grey - background) > 16).mean()))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if CHROMIUM is None:
        _missing(NO_CHROMIUM)
    chromium = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    try:
        chromium.call("Browser.getVersion", timeout=120)
        yield chromium
    finally:
        chromium.close()


def _keep(name: str, png: bytes) -> None:
    if os.environ.get("FNN_DOCS_SCREENSHOTS"):
        out = Path(os.environ["FNN_DOCS_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.png").write_bytes(png)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "path", "heading"), [
    ("home", "", "fnn"),
    ("api-training", "api/training/", "fnn.training"),
    ("results", "results/", "Results on MNIST"),
])
def test_the_page_renders_in_headless_chromium(browser, server, name, path, heading):
    seen = visit(browser, server + path)
    _keep(name, seen.png)
    pixels = decode_png(seen.png)
    shown = ink(pixels)
    print(f"{name}: {pixels.shape[1]}x{pixels.shape[0]} screenshot, grey std {shown.std:.1f}, "
          f"{100 * shown.inked:.1f}% inked, {len(seen.facts['images'])} images, "
          f"{seen.facts['docObjects']} API objects, console errors: {seen.errors}")
    assert pixels.shape[:2] == (900, 1280)
    assert shown.std > 10 and shown.inked > 0.02, f"{name} looks blank: {shown}"
    assert not seen.errors, f"{name}: console errors {seen.errors}"
    assert seen.facts["h1"] is not None and heading in seen.facts["h1"], seen.facts["h1"]
    broken = [i["src"] for i in seen.facts["images"] if not i["complete"] or not i["width"]]
    assert not broken, f"{name}: images that did not load: {broken}"
    if name.startswith("api"):
        assert seen.facts["docObjects"] > 20, "the API page shows too few documented objects"
    if name == "results":
        figures = [i for i in seen.facts["images"] if "figures/" in i["src"]]
        assert figures and all(i["width"] > 300 for i in figures), seen.facts["images"]
        assert seen.figure is not None
        _keep("results-figure", seen.figure)
        curves = ink(decode_png(seen.figure))
        print(f"first figure, as shown: {decode_png(seen.figure).shape[1]}x"
              f"{decode_png(seen.figure).shape[0]}, grey std {curves.std:.1f}, "
              f"{100 * curves.inked:.1f}% inked")
        assert curves.std > 10 and curves.inked > 0.02, f"the figure looks blank: {curves}"
