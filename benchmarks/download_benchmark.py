"""Memory of a download: a 200 MiB file from a loopback server, with one broken transfer.

    python benchmarks/download_benchmark.py

The server runs in its own process (its memory is not counted) and cuts the first transfer
off halfway, so the measured download also resumes with a Range request. The figure is the
growth of this process's peak RSS (VmHWM, reset just before) over its RSS before the download.
Target: under 64 MiB.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 ** 2
SIZE = 200 * MIB
BLOCK = bytes((i * 7) % 251 for i in range(MIB))   # 1 MiB pattern, repeated
TARGET_GROWTH = 64 * MIB


def pattern(start: int, end: int):
    """Bytes start..end-1 of the served file, in pieces of at most 1 MiB."""
    position = start
    while position < end:
        offset = position % MIB
        piece = BLOCK[offset:offset + min(MIB - offset, end - position)]
        yield piece
        position += len(piece)


def serve(port_file: str, cut_first_at: float) -> None:
    state = {"requests": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            state["requests"] += 1
            start = 0
            range_header = self.headers.get("Range")
            if range_header:
                start = int(range_header.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{SIZE - 1}/{SIZE}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(SIZE - start))
            self.send_header("ETag", '"bench-1"')
            self.end_headers()
            end = int(SIZE * cut_first_at) if state["requests"] == 1 and cut_first_at else SIZE
            try:
                for piece in pattern(start, end):
                    self.wfile.write(piece)
            except (BrokenPipeError, ConnectionResetError):
                pass
            if end < SIZE:
                self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


class ResumeCounter(logging.Handler):
    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "resuming at byte" in record.getMessage():
            self.count += 1


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--cut-first-at", type=float, default=0.5,
                        help="fraction of the first transfer sent before the server hangs up (0: none)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.cut_first_at)
        return

    sys.path.insert(0, str(REPO_ROOT))
    from core.media.download import download_file

    with tempfile.TemporaryDirectory() as folder:
        port_file = Path(folder) / "port"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file),
                                   "--cut-first-at", str(args.cut_first_at)])
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}/files/bench/video.mp4"
            dest = Path(folder) / "video.mp4"
            resumes = ResumeCounter()
            logging.getLogger("runcomfy_kling3").addHandler(resumes)
            logging.getLogger("runcomfy_kling3").setLevel(logging.INFO)
            before = status_kib("VmRSS") * 1024
            Path("/proc/self/clear_refs").write_text("5")   # reset the peak (VmHWM) to now
            started = time.perf_counter()
            download_file(url, dest, max_bytes=256 * MIB)
            seconds = time.perf_counter() - started
            peak = status_kib("VmHWM") * 1024
        finally:
            server.kill()
            server.wait()
        expected, got = hashlib.sha256(), hashlib.sha256()
        for piece in pattern(0, SIZE):
            expected.update(piece)
        with open(dest, "rb") as data:
            for piece in iter(lambda: data.read(MIB), b""):
                got.update(piece)
        correct = expected.digest() == got.digest()
    growth = peak - before
    print(f"downloaded {SIZE / MIB:.0f} MiB in {seconds:.2f} s ({SIZE / MIB / seconds:.0f} MiB/s), "
          f"first transfer cut at {args.cut_first_at:.0%}, resumed {resumes.count} time(s), "
          f"content {'correct' if correct else 'WRONG'}")
    print(f"RSS before {before / MIB:.1f} MiB, peak during {peak / MIB:.1f} MiB, growth {growth / MIB:.1f} MiB")
    ok = correct and growth < TARGET_GROWTH
    print(f"  {'PASS' if ok else 'FAIL'}  RSS growth < {TARGET_GROWTH / MIB:.0f} MiB: {growth / MIB:.1f} MiB")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
