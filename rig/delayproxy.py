#!/usr/bin/env python3
"""A network round trip in user space: a streaming proxy that adds latency per request.

    .rig/venv/bin/python rig/delayproxy.py --upstream http://127.0.0.1:PORT --rtt-ms 40 \
        [--listen 127.0.0.1:0] [--quiet]

Prints exactly one line "LISTENING http://127.0.0.1:P" on stdout; logs go to stderr
(one line per request unless --quiet). Every request is forwarded to --upstream with
rig/hubfront.py's ProxyHandler (Host kept, so a registry's upload Location points back
here; bodies streamed both ways), after sleeping RTT/2 before forwarding it and RTT/2
again before answering: each request/response costs one RTT more, as it would across a
network. What it does not model: TCP/TLS handshakes (connections are still loopback
ones), bandwidth-delay windows (bodies stream at loopback speed) and the slow start of
new connections. So it measures how many sequential round trips a client's critical
path has, not how it copes with a long fat pipe.

  GET /__stats   {"requests": N, "rtt_ms": R}   (answered here, not delayed)
  POST /__reset  zero the counter
"""
import argparse
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hubfront import ProxyHandler, ProxyServer, parse_upstream  # noqa: E402


class DelayHandler(ProxyHandler):
    prog = "delayproxy"

    def route(self):
        srv = self.server
        if self.path == "/__stats" and self.command == "GET":
            with srv.lock:
                n = srv.requests
            return self.send_json(200, {"requests": n, "rtt_ms": srv.half * 2000})
        if self.path == "/__reset" and self.command == "POST":
            with srv.lock:
                srv.requests = 0
            return self.send_json(200, {"requests": 0})
        with srv.lock:
            srv.requests += 1
        time.sleep(srv.half)
        self.forward(on_response=lambda _resp: time.sleep(srv.half))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT to forward to")
    p.add_argument("--rtt-ms", type=float, required=True, help="round-trip time to add per request (ms, >= 0)")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0, a free port)")
    p.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = p.parse_args()
    if not 0 <= args.rtt_ms <= 10_000:
        p.error("--rtt-ms wants 0..10000")
    try:
        upstream = parse_upstream(args.upstream)
    except ValueError as e:
        p.error(str(e))
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        p.error("--listen wants HOST:PORT")
    srv = ProxyServer((host, int(port)), DelayHandler, upstream, args.quiet)
    srv.lock = threading.Lock()
    srv.requests = 0
    srv.half = args.rtt_ms / 2000.0
    print("LISTENING http://%s:%d" % srv.server_address[:2], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
