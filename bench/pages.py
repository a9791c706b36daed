"""Review page throughput: gunicorn on production settings against the same page saved as a static file.

    .venv/bin/python bench/pages.py [--seconds 10] [--connections 50] [--workers N] [--postgres URL]

Builds a throw-away deployment (a temporary SQLite file, or with --postgres a new database on that server, migrate, load_seed, collectstatic), saves the rendered
review page into STATIC_ROOT so WhiteNoise serves it through the same gunicorn, then loads both URLs
with 50 concurrent clients (wrk when /usr/bin/wrk exists, else a threaded Python generator) and prints
requests/s, p50 and p99 latency and the ratio. Targets: >= 500 req/s, p99 < 50 ms, >= 25% of static.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PAGE = "/reviews/msc-ssc/"
STATIC_PAGE = "/static/bench/review.html"
LARGE_PAGE = "/reviews/generated/"
# The same bytes served as static files (WhiteNoise, with their .gz beside them): what this machine and load
# generator allow for answers of that size, whatever Django does.
LARGE_STATIC = {"page": "/static/bench/generated.html", "fhir": "/static/bench/generated-fhir.json"}
# Targets of issue 15 for the 1,000-study review: p99 < 100 ms at 50 clients after warm-up (review page and
# FHIR export), and the first request after a restart under 1 s.
LARGE_P99_MS, LARGE_FIRST_S = 100.0, 1.0
# As the worker runs a recompute: the version, then its downloads and FHIR pages written once it is published.
_LARGE_SCRIPT = (
    "import django, sys; django.setup(); sys.path.insert(0, {root!r}); "
    "from bench.generated import generated_review; from evidence.models import RecomputeRun; "
    "from evidence.synthesis.recompute import recompute_run_execute; "
    "run = RecomputeRun.objects.create(review=generated_review()); recompute_run_execute(run_id=run.id); "
    "run.refresh_from_db(); print(run.version.number)"
)
# What a browser (and most HTTP clients) sends; the large review's stored files are served as stored, gzipped.
HEADERS = {"Accept-Encoding": "gzip"}


def _env(workdir: Path, database_url: str) -> dict:
    return {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "EVIDENCE_VAR_DIR": str(workdir),
        "DATABASE_URL": database_url,
        "STATIC_ROOT": str(workdir / "static"),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "API_THROTTLE_ANON": "1000000/second",  # the load generator is one address
    }


@contextlib.contextmanager
def _database(workdir: Path, postgres: str | None) -> Iterator[str]:
    """A throw-away database: a SQLite file, or a new PostgreSQL database on the server of ``postgres``."""
    if postgres is None:
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    import psycopg

    name = f"bench_pages_{os.getpid()}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def _save_page(env: dict, target: Path) -> int:
    """Render the page exactly as the server will, with Django's test client, into the static root."""
    script = (
        "import django, sys; django.setup(); from django.test import Client; "
        f"r = Client(HTTP_HOST='127.0.0.1').get('{PAGE}'); assert r.status_code == 200, r.status_code; "
        "sys.stdout.buffer.write(r.content)"
    )
    env = {**env, "DJANGO_SETTINGS_MODULE": "evidence.config.settings"}
    content = subprocess.run([PYTHON, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True).stdout
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    return len(content)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, path: str = "/healthz", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {path} within {timeout} s")


def _wrk(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    out = subprocess.run(
        # the same headers as the threaded generator: without Accept-Encoding the large page went as 4.9 MB of
        # HTML a request (and was measured so), where a browser gets the stored 0.25 MB
        ["/usr/bin/wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
         *(arg for name, value in HEADERS.items() for arg in ("-H", f"{name}: {value}")), url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, _wrk_ms(out, "50%"), _wrk_ms(out, "99%")


def _wrk_ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _threads(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    """Fallback closed-loop generator: one thread per client, a new connection per request (as gunicorn sync)."""
    path = "/" + url.split("/", 3)[3]
    port = int(url.split(":")[2].split("/")[0])
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    def client() -> None:
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", path, headers=HEADERS)
                _drain(conn.getresponse())
            except OSError:  # a timed-out request counts with the time it took
                pass
            conn.close()
            mine.append((time.perf_counter() - started) * 1000)
        latencies.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / seconds, cuts[49], cuts[98]


def _drain(response: http.client.HTTPResponse) -> int:
    """Read the body in chunks (50 clients holding a whole 68 MB page each would measure the client)."""
    size = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
    return size


def _measure(url: str, seconds: int, connections: int) -> tuple[float, float, float]:
    runner = _wrk if Path("/usr/bin/wrk").exists() else _threads
    runner(url, 2, connections)  # warm every worker's page cache
    return runner(url, seconds, connections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3, help="as docker-compose.yml runs gunicorn")
    parser.add_argument("--worker-class", default="sync", help="sync (as docker-compose.yml) or gthread")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker (keep-alive)")
    parser.add_argument("--large", action="store_true", help="also the 1,000-study review and its FHIR export")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="run on a new database on this PostgreSQL server (e.g. postgres://postgres@127.0.0.1:5432/test)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    try:
        with _database(workdir, args.postgres) as database_url:
            env = _env(workdir, database_url)
            results, size = _serve_and_measure(env, workdir, args)
            large = _large_measure(env, args) if args.large else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    met = _report(results, size, args)
    if large is not None:
        met = _large_report(large) and met
    sys.exit(0 if met else 1)


def _serve_and_measure(env: dict, workdir: Path, args: argparse.Namespace) -> tuple[dict, int]:
    _manage(env, "migrate", "--noinput")
    _manage(env, "load_seed")
    _manage(env, "collectstatic", "--noinput")
    size = _save_page(env, workdir / "static" / "bench" / "review.html")
    port = _free_port()
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "evidence.config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        _wait(port)
        _wait(port, PAGE)
        results = {
            name: _measure(f"http://127.0.0.1:{port}{path}", args.seconds, args.connections)
            for name, path in (("review page (Django)", PAGE), ("same page as a static file", STATIC_PAGE))
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    return results, size


def _gunicorn(env: dict, port: int, args: argparse.Namespace) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "evidence.config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
         "--log-level", "warning", "--timeout", "120"],
        cwd=ROOT, env=env,
    )  # fmt: skip


def _timed_get(port: int, path: str) -> tuple[int, float, int]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    conn.request("GET", path, headers=HEADERS)
    response = conn.getresponse()
    size = _drain(response)
    return response.status, time.perf_counter() - started, size


def _large_measure(env: dict, args: argparse.Namespace) -> dict:
    """The 1,000-study review: its first requests ever (the FHIR Bundle's pages were written by the recompute,
    as the worker writes them), the page and the FHIR export's first page under load, then the first requests
    after a restart of gunicorn (the first and the last FHIR page)."""
    script = _LARGE_SCRIPT.format(root=str(ROOT))
    started = time.perf_counter()
    done = subprocess.run([PYTHON, "-c", script], cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "evidence.config.settings"},
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode:
        sys.exit(f"generating the large review failed:\n{done.stderr[-3000:]}")
    number = done.stdout.split()[-1]
    print(f"  (generated, recomputed and exports written in {time.perf_counter() - started:.0f} s)", flush=True)
    fhir = f"/api/v1/reviews/generated/versions/{number}/fhir/"
    port = _free_port()
    figures: dict = {}
    with _serving(env, port, args):
        figures["first page ever"] = _timed_get(port, LARGE_PAGE)
        figures["first fhir ever"] = _timed_get(port, fhir)
        print(f"  (first ever: page {figures['first page ever']}, FHIR {figures['first fhir ever']})", flush=True)
        _save_static(port, {"page": LARGE_PAGE, "fhir": fhir}, Path(env["STATIC_ROOT"]))
        for name, path in (("page", LARGE_PAGE), ("fhir", fhir)):
            figures[name] = _measure(f"http://127.0.0.1:{port}{path}", args.seconds, args.connections)
            print(f"  ({name} under load: {figures[name]})", flush=True)
    with _serving(env, port, args):  # a restart: every worker's memory is empty
        figures["first page"] = _timed_get(port, LARGE_PAGE)
        figures["first fhir"] = _timed_get(port, fhir)
        figures["pages"] = _fhir_pages(port, fhir)
        figures["last fhir page"] = _timed_get(port, f"{fhir}?page={figures['pages']}")
        for name, path in LARGE_STATIC.items():  # WhiteNoise found the copies at this start
            figures[f"{name} static"] = _measure(f"http://127.0.0.1:{port}{path}", args.seconds, args.connections)
            print(f"  ({name} as a static file under load: {figures[f'{name} static']})", flush=True)
    return figures


def _save_static(port: int, paths: dict, static_root: Path) -> None:
    """Copies of the answers as static files, gzipped as the site sends them (level 6)."""
    for name, path in paths.items():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("GET", path)
        content = conn.getresponse().read()
        target = static_root / LARGE_STATIC[name].removeprefix("/static/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        target.with_name(target.name + ".gz").write_bytes(gzip.compress(content, 6, mtime=0))


def _fhir_pages(port: int, path: str) -> int:
    """How many pages the Bundle has: the page number in the first page's `last` link."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)
    bundle = json.loads(conn.getresponse().read())
    last = next((link["url"] for link in bundle["link"] if link["relation"] == "last"), "page=1")
    return int(last.rsplit("page=", 1)[-1])


@contextlib.contextmanager
def _serving(env: dict, port: int, args: argparse.Namespace) -> Iterator[None]:
    server = _gunicorn(env, port, args)
    try:
        _wait(port)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # workers still busy with slow requests
            server.kill()
            server.wait()


def _large_report(figures: dict) -> bool:
    print(f"{LARGE_PAGE} (1,000 studies x 20 outcomes x 3 time points; requests send Accept-Encoding: gzip):")
    print(f"  FHIR Bundle: {figures['pages']} stored pages, each request serves one")
    for name in ("first page ever", "first fhir ever", "first page", "first fhir", "last fhir page"):
        status, seconds, size = figures[name]
        label = name if name.endswith("ever") else f"{name} after restart"
        print(f"  {label:28s} HTTP {status} in {seconds:.2f} s ({size / 1e6:.1f} MB)")
    for name in ("page", "page static", "fhir", "fhir static"):
        rps, p50, p99 = figures[name]
        label = name.replace(" static", " as a static file") + " under load"
        print(f"  {label:28s} {rps:9.1f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    first = max(figures["first page"][1], figures["first fhir"][1], figures["last fhir page"][1])
    worst = max(figures["page"][2], figures["fhir"][2])
    met = first < LARGE_FIRST_S, worst < LARGE_P99_MS
    print(
        f"  targets: first request after restart < {LARGE_FIRST_S:.0f} s [{'met' if met[0] else 'NOT met'}], "
        f"p99 < {LARGE_P99_MS:.0f} ms [{'met' if met[1] else 'NOT met'}]"
    )
    return all(met)


def _report(results: dict, size: int, args: argparse.Namespace) -> bool:
    tool = "wrk" if Path("/usr/bin/wrk").exists() else "python threads"
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{PAGE}: {size:,} bytes; gunicorn {args.workers} {args.worker_class} workers x {args.threads} threads; {args.connections} clients; {database}; "
          f"{args.seconds} s; load by {tool}; {os.cpu_count()} CPUs shared with the load generator")  # fmt: skip
    for name, (rps, p50, p99) in results.items():
        print(f"  {name:28s} {rps:9.1f} req/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    page, static = results["review page (Django)"], results["same page as a static file"]
    ratio = page[0] / static[0] if static[0] else float("nan")
    print(f"  ratio page/static: {ratio:.0%}")
    print(
        f"  targets: >= 500 req/s [{'met' if page[0] >= 500 else 'NOT met'}], "
        f"p99 < 50 ms [{'met' if page[2] < 50 else 'NOT met'}], "
        f">= 25% of static [{'met' if ratio >= 0.25 else 'NOT met'}]"
    )
    return page[0] >= 500 and page[2] < 50 and ratio >= 0.25


if __name__ == "__main__":
    main()
