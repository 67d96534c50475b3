"""Running varnishd with the project's VCL (``deploy/varnish/default.vcl``).

The VCL includes ``backends.vcl``: where the four services are and who may purge.
Kubernetes ships one naming the Services; ``render_backends`` writes one for
processes on this machine, and ``Varnishd`` starts varnishd with that file found
first on its ``vcl_path``, so the VCL itself is the same everywhere.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from shared.net import free_port

VCL_DIR = Path(__file__).resolve().parents[2] / "deploy" / "varnish"
SERVICES = ("upload", "simple", "search", "accounts")


@dataclass(frozen=True)
class Origin:
    host: str
    port: int
    first_byte_timeout: float = 10.0


@dataclass(frozen=True)
class Probe:
    interval: float = 1.0
    timeout: float = 1.0
    window: int = 3
    threshold: int = 2


def render_backends(origins: Mapping[str, Origin], *, purgers: Sequence[str] = ("127.0.0.1",),
                    probe: Probe = Probe()) -> str:
    """``backends.vcl`` for the four services; the upload service keeps long timeouts for large uploads."""
    missing = set(SERVICES) - set(origins)
    if missing:
        raise ValueError(f"no origin for {', '.join(sorted(missing))}")
    lines = [
        "probe readyz {",
        '    .url = "/readyz";',
        f"    .interval = {probe.interval:g}s;",
        f"    .timeout = {probe.timeout:g}s;",
        f"    .window = {probe.window};",
        f"    .threshold = {probe.threshold};",
        f"    .initial = {probe.threshold};",  # healthy from the start, not only after the first probes
        "}",
    ]
    for name in SERVICES:
        origin = origins[name]
        first_byte = 600.0 if name == "upload" else origin.first_byte_timeout
        lines.append(
            f'backend {name} {{ .host = "{origin.host}"; .port = "{origin.port}"; .probe = readyz; '
            f".connect_timeout = 1s; .first_byte_timeout = {first_byte:g}s; .between_bytes_timeout = {first_byte:g}s; }}"
        )
    lines.append("acl purgers {")
    lines.extend(f'    "{address}";' for address in purgers)
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class Varnishd:
    """One varnishd in the foreground, its working directory (and generated backends.vcl) in ``workdir``."""

    workdir: Path
    origins: Mapping[str, Origin]
    purgers: Sequence[str] = ("127.0.0.1",)
    probe: Probe = field(default_factory=Probe)
    port: int = 0
    purge_port: int | None = None  # a second socket, named "purge", on which anyone may purge
    storage: str = "malloc,128m"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: float = 30.0) -> None:
        binary = shutil.which("varnishd") or "/usr/sbin/varnishd"
        if not Path(binary).exists():
            raise RuntimeError("varnishd is not installed (Debian packages varnish and varnish-modules)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "backends.vcl").write_text(render_backends(self.origins, purgers=self.purgers,
                                                                   probe=self.probe))
        self.port = self.port or free_port()
        command = [
            binary, "-F", "-j", "none", "-n", str(self.workdir / "instance"), "-a", f"http=127.0.0.1:{self.port}",
            *(["-a", f"purge=127.0.0.1:{self.purge_port}"] if self.purge_port else []),
            "-f", str(VCL_DIR / "default.vcl"), "-p", f"vcl_path={self.workdir}:{VCL_DIR}", "-s", self.storage,
            "-T", "127.0.0.1:0",
        ]
        with (self.workdir / "varnishd.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"varnishd exited: {(self.workdir / 'varnishd.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("varnishd did not listen in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def counters(self) -> dict[str, int]:
        """varnishstat's counters (``MAIN.cache_hit``, ``MAIN.backend_req`` …)."""
        result = subprocess.run(["varnishstat", "-n", str(self.workdir / "instance"), "-1", "-j"],
                                capture_output=True, text=True, timeout=10, check=True)
        data = json.loads(result.stdout)
        found = data.get("counters", data)
        return {name: int(value["value"]) for name, value in found.items()
                if isinstance(value, dict) and "value" in value}
