#!/usr/bin/env python3
"""Side-by-side benchmark of meshperf against wrk, wrk2, h2load, oha and a bare epoll client,
and of meshperf's gRPC calls against its own h2c requests on the same nginx.

nginx serves a 64-byte file, pinned to CPU 1; each generator runs pinned to CPU 0 under
/usr/bin/time -v with one thread, 3 times per row. The tables show medians of req/s, generator
CPU µs per completed request ((user + sys) / requests), voluntary context switches per request
(how often the generator slept and was woken), peak RSS and p50/p99, with the ratio to each
row's anchor. Open-loop rows add the achieved rate's error and meshperf's send lag p99.

The floor client (floor.c, compiled here with gcc) is the kernel floor: one epoll loop, one
send and one recv per request, nothing measured. wrk2 is not packaged in Debian: --install
builds it from its public source (giltene/wrk2, a git clone given by --wrk2-src) in a temp
directory outside the repository.

Usage: benches/compare/compare.py [--runs 3] [--seconds 10] [--install] [--only TEXT]
                                  [--port-base 18080] [--extra LABEL=BINARY] [--long] [--out FILE.md]
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
# Where this project's machines keep a clone of giltene/wrk2; any clone or checkout will do.
WRK2_SRC = os.environ.get("WRK2_SRC", "/work/.mirror/giltene+wrk2/repo")
ANCHORS = Path(tempfile.gettempdir()) / "meshperf-anchors"


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, **kw)


def install(wrk2_src):
    """Installs the anchors from Debian and the crate registry when missing; builds wrk2."""
    need = [p for p, b in [("wrk", "wrk"), ("nghttp2-client", "h2load"), ("nginx", "nginx"), ("hey", "hey"),
                           ("apache2-utils", "ab"), ("time", "/usr/bin/time"), ("util-linux", "taskset"),
                           ("openssl", "openssl"), ("gcc", "gcc"), ("make", "make"), ("curl", "curl"),
                           ("libssl-dev", "/usr/include/openssl/ssl.h"), ("zlib1g-dev", "/usr/include/zlib.h")]
            if not shutil.which(b) and not Path(b).exists()]
    if need:
        sh("apt-get update -qq")
        sh(["apt-get", "install", "-y", "-qq", *need], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("oha") and not (Path.home() / ".cargo/bin/oha").exists():
        sh("cargo install oha --locked")
    if not wrk2_path().exists():
        build_wrk2(wrk2_src)


def wrk2_path():
    return ANCHORS / "wrk2" / "wrk"


def build_wrk2(src):
    """git clone SRC into a temp dir (never into this repository) and `make` it there."""
    if not Path(src).exists():
        print(f"skip wrk2: no source at {src} (set WRK2_SRC to a clone of giltene/wrk2)", file=sys.stderr)
        return
    dest = ANCHORS / "wrk2"
    shutil.rmtree(dest, ignore_errors=True)
    ANCHORS.mkdir(parents=True, exist_ok=True)
    sh(["git", "clone", "-q", str(src), str(dest)])
    sh(["make", "-j2"], cwd=dest, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def raise_nofile():
    """Lets 10,000-connection rows open their sockets (children inherit the limit)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard) if hard != resource.RLIM_INFINITY else hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def start_nginx(tmp: Path, base: int):
    tmp.chmod(0o755)  # nginx's worker runs as nobody and must read the document root
    (tmp / "www").mkdir()
    (tmp / "tmp").mkdir()
    (tmp / "www/index.html").write_bytes(b"x" * 63 + b"\n")
    # grpc.health.v1.HealthCheckResponse{status: SERVING}, framed: no compression, length 2.
    (tmp / "www/grpc-serving.bin").write_bytes(b"\x00\x00\x00\x00\x02\x08\x01")
    conf = (HERE / "nginx.conf").read_text()
    for old, new in [("18080", base), ("18082", base + 2), ("18443", base + 363)]:
        conf = conf.replace(old, str(new))
    conf = re.sub(r"worker_rlimit_nofile \d+", f"worker_rlimit_nofile {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}", conf)
    (tmp / "nginx.conf").write_text(conf)
    sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp / "key.pem"), "-out",
        str(tmp / "cert.pem"), "-days", "2", "-subj", "/CN=localhost"], stdout=subprocess.DEVNULL,
       stderr=subprocess.DEVNULL)
    proc = subprocess.Popen(["taskset", "-c", "1", "nginx", "-p", str(tmp), "-c", "nginx.conf"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            sh(["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{base}/"])
            return proc
        except subprocess.CalledProcessError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"nginx did not start on 127.0.0.1:{base}")


def timed(cmd, tmp: Path):
    """Runs cmd pinned to CPU 0 under /usr/bin/time -v; returns (stdout, cpu_s, rss_kb, voluntary_switches)."""
    tfile = tmp / "time.txt"
    out = subprocess.run(["taskset", "-c", "0", "/usr/bin/time", "-v", "-o", str(tfile), *cmd],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {out.stderr[-500:]}")
    t = tfile.read_text()
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
    vol = int(re.search(r"Voluntary context switches: (\d+)", t).group(1))
    return out.stdout, user + system, rss, vol


def ms(text):
    """'1.23ms' / '456.00us' / '1.2s' → milliseconds."""
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


# Each parser returns (completed requests, req/s, p50 ms, p99 ms, send lag p99 ms).
def parse_meshperf(out):
    d = json.loads(out)
    det = d["details"]
    lag = det.get("send_lag_ms", {}).get("p99")
    return det["requests"], d["actual_qps"], det["latency_ms"]["p50"], det["latency_ms"]["p99"], lag


def parse_wrk(out):
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = ms(re.search(r"\s50(?:\.0+)?%\s+(\S+)", out).group(1))
    p99 = ms(re.search(r"\s99(?:\.0+)?%\s+(\S+)", out).group(1))
    return n, rps, p50, p99, None


def parse_oha(out):
    d = json.loads(out)
    n = sum(d.get("statusCodeDistribution", {}).values())
    lp = d["latencyPercentiles"]
    return n, d["summary"]["requestsPerSec"], lp["p50"] * 1000, lp["p99"] * 1000, None


def parse_h2load(out):
    n = int(re.search(r"requests: \d+ total, \d+ started, (\d+) done", out).group(1))
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", out)
    return n, rps, ms(mean.group(1)) if mean else None, None, None


def parse_floor(out):
    m = re.search(r"(\d+) requests \d+ late-sends ([\d.]+) seconds", out)
    n = int(m.group(1))
    return n, n / float(m.group(2)), None, None, None


def scenarios(secs, base, meshperf, oha, wrk2, floor, extra=()):
    d = f"{secs}s"
    h1, h2c = f"http://127.0.0.1:{base}/", f"http://127.0.0.1:{base + 2}/"
    grpc = f"grpc://127.0.0.1:{base + 2}"
    port = str(base)

    def mp(conns, *extra):
        return [meshperf, "run", "-c", str(conns), "-t", "1", "-d", d, "--format", "json", "--no-progress", *extra]

    def wrk(conns):
        return ("wrk", ["wrk", "-t1", f"-c{conns}", f"-d{d}", "--latency", h1], parse_wrk)

    def fl(conns, rate=None):
        name = "floor (bare epoll, C)" if rate is None else "floor, µs timer per send (C)"
        return (name, [floor, port, str(conns), str(secs), *([str(rate)] if rate else [])], parse_floor)

    def open_loop(rate):
        return (None, "wrk2", [
            ("meshperf", mp(50, "-r", str(rate), h1), parse_meshperf),
            ("wrk2", [wrk2, "-t1", "-c50", f"-d{d}", f"-R{rate}", "--latency", h1], parse_wrk),
            ("oha", [oha, "-z", d, "-c", "50", "-q", str(rate), "--latency-correction", "--no-tui",
                     "--output-format", "json", h1], parse_oha),
            fl(50, rate),
        ])

    rows = {
        "HTTP/1.1 closed loop, 50 connections": (None, "floor (bare epoll, C)", [
            ("meshperf", mp(50, h1), parse_meshperf),
            fl(50),
            wrk(50),
            ("oha", [oha, "-z", d, "-c", "50", "--no-tui", "--output-format", "json", h1], parse_oha),
            ("h2load --h1", ["h2load", "--h1", "-t1", "-c50", f"-D{secs}", h1], parse_h2load),
        ]),
        "HTTP/2 (h2c) closed loop, 50 connections x 10 streams": (None, "h2load", [
            ("meshperf", mp(50, "--http2", "--h2-streams", "10", h2c), parse_meshperf),
            ("h2load", ["h2load", "-t1", "-c50", "-m10", f"-D{secs}", h2c], parse_h2load),
            ("oha", [oha, "-z", d, "-c", "50", "-p", "10", "--http2", "--no-tui", "--output-format", "json", h2c],
             parse_oha),
        ]),
        # gRPC against h2c on the same nginx: the cost of a call next to the cost of a request.
        "gRPC unary (h2c) closed loop, 50 connections x 10 streams": (None, "meshperf h2c", [
            ("meshperf gRPC", mp(50, "--h2-streams", "10", "--call", "grpc.health.v1.Health/Check", grpc),
             parse_meshperf),
            ("meshperf h2c", mp(50, "--http2", "--h2-streams", "10", h2c), parse_meshperf),
        ]),
        "HTTP/1.1 open loop at 5,000 req/s, 50 connections": (5000,) + open_loop(5000)[1:],
        "HTTP/1.1 open loop at 30,000 req/s, 50 connections": (30000,) + open_loop(30000)[1:],
        "HTTP/1.1 closed loop, 1,000 connections": (None, "wrk", [
            ("meshperf", mp(1000, h1), parse_meshperf), wrk(1000), fl(1000),
        ]),
        "HTTP/1.1 closed loop, 10,000 connections": (None, "wrk", [
            ("meshperf", mp(10000, "--timeout", "30s", h1), parse_meshperf), wrk(10000), fl(10000),
        ]),
    }
    # Other meshperf builds (e.g. main) run right after meshperf on every row, for before/after.
    for rate, anchor, tools in rows.values():
        name, cmd, parse = tools[0]
        for i, (label, binary) in enumerate(extra):
            tools.insert(1 + i, (f"meshperf {label}", [binary, *cmd[1:]], parse))
    return rows


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def run_row(title, rate, anchor, tools, a, tmp):
    rows = {}
    for name, cmd, parse in tools:
        if not shutil.which(cmd[0]) and not Path(cmd[0]).exists():
            print(f"skip {name}: {cmd[0]} not installed", file=sys.stderr)
            continue
        runs = []
        for _ in range(a.runs):
            out, cpu, rss, vol = timed(cmd, tmp)
            n, rps, p50, p99, lag = parse(out)
            err = (rps / rate - 1) * 100 if rate else None
            runs.append((rps, cpu / max(n, 1) * 1e6, vol / max(n, 1), rss / 1024, p50, p99, err, lag))
            time.sleep(1)
        med = [statistics.median([r[i] for r in runs]) if all(r[i] is not None for r in runs) else None
               for i in range(8)]
        rows[name] = med
        print(f"{title} | {name}: {[round(x, 3) if x is not None else None for x in med]}", file=sys.stderr)
    base = rows.get(anchor)
    lines = [f"### {title}", ""]
    head = f"| tool | req/s | CPU µs/req | CPU vs {anchor} | wakes/req | peak RSS MB | RSS vs {anchor} | p50 ms | p99 ms |"
    if rate:
        head += " rate error | send lag p99 ms |"
    lines += [head, "|---" * (head.count("|") - 1) + "|"]
    for name, (rps, cpu, vol, rss, p50, p99, err, lag) in rows.items():
        ratio = f"{cpu / base[1]:.2f}x" if base else "-"
        rss_ratio = f"{rss / base[3]:.2f}x" if base else "-"
        line = (f"| {name} | {rps:,.0f} | {cpu:.2f} | {ratio} | {vol:.2f} | {rss:.1f} | {rss_ratio} | "
                f"{fmt(p50, '.3f')} | {fmt(p99, '.3f')} |")
        if rate:
            line += f" {fmt(err, '+.2f')}% | {fmt(lag, '.3f')} |"
        lines.append(line)
    return lines + [""]


def long_rss(meshperf, base, tmp, minutes=5):
    """Peak RSS of one 5-minute run at 50 connections, sampled every 30 s from /proc."""
    cmd = [meshperf, "run", "-c", "50", "-t", "1", "-r", "5000", "-d", f"{minutes * 60}s", "--format", "json",
           "--no-progress", f"http://127.0.0.1:{base}/"]
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd], stdout=subprocess.DEVNULL)
    samples = []
    for _ in range(minutes * 2):
        time.sleep(30)
        try:
            st = Path(f"/proc/{proc.pid}/status").read_text()
        except FileNotFoundError:
            break
        kb = {k: int(re.search(rf"{k}:\s+(\d+)", st).group(1)) for k in ("VmRSS", "RssAnon", "RssFile")}
        samples.append(kb)
    proc.wait()
    lines = ["### meshperf memory over a 5-minute run (5,000 req/s, 50 connections)", "",
             "| time s | VmRSS MB | RssAnon MB | RssFile MB |", "|---|---|---|---|"]
    for i, kb in enumerate(samples):
        lines.append(f"| {(i + 1) * 30} | {kb['VmRSS'] / 1024:.1f} | {kb['RssAnon'] / 1024:.1f} | "
                     f"{kb['RssFile'] / 1024:.1f} |")
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--install", action="store_true", help="apt-get/cargo install missing anchors, build wrk2")
    ap.add_argument("--wrk2-src", default=WRK2_SRC, help="a git clone of giltene/wrk2 to build wrk2 from")
    ap.add_argument("--only", help="run only rows whose title contains this text")
    ap.add_argument("--port-base", type=int, default=18080, help="nginx's HTTP/1.1 port (h2c is +2)")
    ap.add_argument("--long", action="store_true", help="also sample meshperf's RSS over a 5-minute run")
    ap.add_argument("--meshperf", help="use this meshperf binary instead of building the checkout's")
    ap.add_argument("--extra", action="append", default=[], metavar="LABEL=BINARY",
                    help="also run another meshperf build on every row (e.g. main=/tmp/meshperf-main)")
    ap.add_argument("--out", help="also write the Markdown tables to this file")
    a = ap.parse_args()
    if a.install:
        install(a.wrk2_src)
    raise_nofile()
    meshperf = a.meshperf
    if not meshperf:
        sh(["cargo", "build", "--release", "-q", "-p", "meshperf-server", "--bin", "meshperf"], cwd=ROOT)
        meshperf = str(ROOT / "target/release/meshperf")
    oha = shutil.which("oha") or str(Path.home() / ".cargo/bin/oha")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    lines = [f"Machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"meshperf {commit.stdout.strip()}; {a.runs} runs of {a.seconds} s each, medians.", ""]
    with tempfile.TemporaryDirectory() as tmpd:
        tmp = Path(tmpd)
        tmp.chmod(0o755)  # nginx's worker (nobody) must reach srv/www
        floor = str(tmp / "floor")
        sh(["gcc", "-O2", "-o", floor, str(HERE / "floor.c")])
        (tmp / "srv").mkdir()
        nginx = start_nginx(tmp / "srv", a.port_base)
        try:
            extra = [tuple(e.split("=", 1)) for e in a.extra]
            for title, (rate, anchor, tools) in scenarios(a.seconds, a.port_base, meshperf, oha, str(wrk2_path()),
                                                          floor, extra).items():
                if a.only and a.only not in title:
                    continue
                lines += run_row(title, rate, anchor, tools, a, tmp)
            if a.long:
                lines += long_rss(meshperf, a.port_base, tmp)
        finally:
            nginx.terminate()
            nginx.wait()
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
