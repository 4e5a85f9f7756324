"""``python -m sandbox``: run the local RunComfy API stand-in until Ctrl-C or SIGTERM (``kill``);
either way it stops cleanly and removes its temporary folder."""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import DEFAULT_TOKEN, Sandbox
from .http_common import is_loopback


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Local stand-in for the RunComfy Model API (Kling 3.0 Pro text-to-video).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="API port (default 8765)")
    parser.add_argument("--files-port", type=int, default=8766,
                        help="port of the result file host (default 8766)")
    parser.add_argument("--queue-seconds", type=float, default=1.0)
    parser.add_argument("--run-seconds", type=float, default=3.0)
    parser.add_argument("--resolution-scale", type=float, default=1.0,
                        help="1.0 = real 1080p sizes; smaller makes faster, smaller videos")
    parser.add_argument("--state-dir", default=None,
                        help="where to keep the generated videos (default: a temporary folder)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow binding a non-loopback address (anyone who can reach it "
                             "can use it; the admin routes stay loopback-only)")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)

    if not is_loopback(args.host) and not args.allow_remote:
        parser.error(f"refusing to listen on non-loopback host {args.host!r}; "
                     "add --allow-remote if you really mean it")
    # SIGTERM (``kill``, a service manager) ends it like Ctrl-C: through the ``finally`` below,
    # which stops the servers and removes the temporary state folder.
    previous = _stop_on_sigterm()
    sandbox = Sandbox(host=args.host, api_port=args.port, files_port=args.files_port,
                      queue_seconds=args.queue_seconds, run_seconds=args.run_seconds,
                      resolution_scale=args.resolution_scale, state_dir=args.state_dir,
                      verbose=not args.quiet)
    try:
        try:
            sandbox.start()
        except OSError as exc:
            print(f"sandbox: cannot listen on {args.host} ports {args.port}/{args.files_port}: {exc}",
                  file=sys.stderr)
            return 1
        return _serve(sandbox)
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C or kill while cleaning up must not leave the folder behind.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            sandbox.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, previous_int)


def _stop_on_sigterm():
    def stop(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, stop)


def _serve(sandbox: Sandbox) -> int:
    print(f"export RUNCOMFY_API_BASE={sandbox.api_base}")
    print(f"export RUNCOMFY_API_TOKEN={DEFAULT_TOKEN}")
    sys.stdout.flush()
    print(f"sandbox: API {sandbox.api_base}, files {sandbox.files_base}; Ctrl-C to stop",
          file=sys.stderr)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
