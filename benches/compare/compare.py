#!/usr/bin/env python3
"""Side-by-side benchmark of meshperf against wrk, h2load and oha on this machine.

nginx serves a 64-byte file, pinned to CPU 1; each generator runs pinned to CPU 0 under
/usr/bin/time -v with 50 connections and one thread for 10 s, 3 times. The table shows medians
of req/s, generator CPU µs per request ((user+sys) / completed requests), peak RSS and p50/p99,
with ratios to the anchor of each scenario (wrk for HTTP/1.1, h2load for HTTP/2).

Usage: benches/compare/compare.py [--runs 3] [--seconds 10] [--install] [--out FILE.md]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
H1 = "http://127.0.0.1:18080/"
H2C = "http://127.0.0.1:18082/"


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, **kw)


def install():
    """Installs the anchors from Debian and the crate registry when missing."""
    need = [p for p, b in [("wrk", "wrk"), ("nghttp2-client", "h2load"), ("nginx", "nginx"),
                           ("time", "/usr/bin/time"), ("util-linux", "taskset"), ("openssl", "openssl")]
            if not shutil.which(b)]
    if need:
        sh("apt-get update -qq")
        sh(["apt-get", "install", "-y", "-qq", *need], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("oha") and not (Path.home() / ".cargo/bin/oha").exists():
        sh("cargo install oha --locked")


def start_nginx(tmp: Path):
    tmp.chmod(0o755)  # nginx's worker runs as nobody and must read the document root
    (tmp / "www").mkdir()
    (tmp / "tmp").mkdir()
    (tmp / "www/index.html").write_bytes(b"x" * 63 + b"\n")
    shutil.copy(HERE / "nginx.conf", tmp / "nginx.conf")
    sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp / "key.pem"), "-out",
        str(tmp / "cert.pem"), "-days", "2", "-subj", "/CN=localhost"], stdout=subprocess.DEVNULL,
       stderr=subprocess.DEVNULL)
    proc = subprocess.Popen(["taskset", "-c", "1", "nginx", "-p", str(tmp), "-c", "nginx.conf"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            sh(["curl", "-sf", "-o", "/dev/null", H1])
            return proc
        except subprocess.CalledProcessError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("nginx did not start on 127.0.0.1:18080")


def timed(cmd, tmp: Path):
    """Runs cmd pinned to CPU 0 under /usr/bin/time -v; returns (stdout, cpu_seconds, rss_kb)."""
    tfile = tmp / "time.txt"
    out = subprocess.run(["taskset", "-c", "0", "/usr/bin/time", "-v", "-o", str(tfile), *cmd],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {out.stderr[-500:]}")
    t = tfile.read_text()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    return out.stdout, user + system, rss


def ms(text):
    """'1.23ms' / '456.00us' / '1.2s' → milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def parse_meshperf(out):
    d = json.loads(out)
    det = d["details"]
    return det["requests"], d["actual_qps"], det["latency_ms"]["p50"], det["latency_ms"]["p99"]


def parse_wrk(out):
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    return n, rps, p50, p99


def parse_oha(out):
    d = json.loads(out)
    n = sum(d.get("statusCodeDistribution", {}).values())
    lp = d["latencyPercentiles"]
    return n, d["summary"]["requestsPerSec"], lp["p50"] * 1000, lp["p99"] * 1000


def parse_h2load(out):
    n = int(re.search(r"requests: \d+ total, \d+ started, (\d+) done", out).group(1))
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", out)
    return n, rps, ms(mean.group(1)) if mean else None, None


def scenarios(secs, meshperf, oha):
    d = f"{secs}s"
    mp = [meshperf, "run", "-c", "50", "-t", "1", "-d", d, "--format", "json", "--no-progress"]
    return {
        "HTTP/1.1 closed loop, 50 connections": ("wrk", [
            ("meshperf", mp + [H1], parse_meshperf),
            ("wrk", ["wrk", "-t1", "-c50", f"-d{d}", "--latency", H1], parse_wrk),
            ("oha", [oha, "-z", d, "-c", "50", "--no-tui", "--output-format", "json", H1], parse_oha),
            ("h2load --h1", ["h2load", "--h1", "-t1", "-c50", f"-D{secs}", H1], parse_h2load),
        ]),
        "HTTP/2 (h2c) closed loop, 50 connections x 10 streams": ("h2load", [
            ("meshperf", mp + ["--http2", "--h2-streams", "10", H2C], parse_meshperf),
            ("h2load", ["h2load", "-t1", "-c50", "-m10", f"-D{secs}", H2C], parse_h2load),
            ("oha", [oha, "-z", d, "-c", "50", "-p", "10", "--http2", "--no-tui", "--output-format", "json", H2C],
             parse_oha),
        ]),
        "HTTP/1.1 open loop at 5,000 req/s": ("oha", [
            ("meshperf", mp + ["-r", "5000", H1], parse_meshperf),
            ("oha", [oha, "-z", d, "-c", "50", "-q", "5000", "--latency-correction", "--no-tui", "--output-format",
                     "json", H1], parse_oha),
            ("h2load --h1", ["h2load", "--h1", "-t1", "-c50", f"-D{secs}", "--rps=100", H1], parse_h2load),
        ]),
    }


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--install", action="store_true", help="apt-get/cargo install missing anchors")
    ap.add_argument("--only", help="run only scenarios whose title contains this text")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    a = ap.parse_args()
    if a.install:
        install()
    sh(["cargo", "build", "--release", "-q", "-p", "meshperf-server", "--bin", "meshperf"], cwd=ROOT)
    meshperf = str(ROOT / "target/release/meshperf")
    oha = shutil.which("oha") or str(Path.home() / ".cargo/bin/oha")
    lines = [f"Machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"{a.runs} runs of {a.seconds} s each, medians.", ""]
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        nginx = start_nginx(tmp)
        try:
            for title, (anchor, tools) in scenarios(a.seconds, meshperf, oha).items():
                if a.only and a.only not in title:
                    continue
                rows = {}
                for name, cmd, parse in tools:
                    if not shutil.which(cmd[0]) and not Path(cmd[0]).exists():
                        print(f"skip {name}: {cmd[0]} not installed", file=sys.stderr)
                        continue
                    runs = []
                    for _ in range(a.runs):
                        out, cpu, rss = timed(cmd, tmp)
                        n, rps, p50, p99 = parse(out)
                        runs.append((rps, cpu / max(n, 1) * 1e6, rss / 1024, p50, p99))
                        time.sleep(1)
                    med = [statistics.median([r[i] for r in runs]) if all(r[i] is not None for r in runs) else None
                           for i in range(5)]
                    rows[name] = med
                    print(f"{title} | {name}: {med}", file=sys.stderr)
                base = rows.get(anchor)
                lines += [f"### {title}", "",
                          f"| tool | req/s | CPU µs/req | CPU vs {anchor} | peak RSS MB | p50 ms | p99 ms |",
                          "|---|---|---|---|---|---|---|"]
                for name, (rps, cpu, rss, p50, p99) in rows.items():
                    ratio = f"{cpu / base[1]:.2f}x" if base else "-"
                    lines.append(f"| {name} | {rps:,.0f} | {cpu:.2f} | {ratio} | {rss:.1f} | {fmt(p50, '.3f')} | "
                                 f"{fmt(p99, '.3f')} |")
                lines.append("")
        finally:
            nginx.terminate()
            nginx.wait()
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
