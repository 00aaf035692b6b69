#!/usr/bin/env python3
"""A small HTTP/1.1 file server for Atelier's download tests, with fault switches.

Usage: http_server.py ROOT LOG. Listens on 127.0.0.1 (a free port, printed on the first
line of stdout), serves the files under ROOT and appends one line per request to LOG:
"METHOD PATH RANGE STATUS".

Paths (FILE is relative to ROOT):
  /FILE                   the file; honours "Range: bytes=N-" with 206 + Content-Range
  /cut/N/FILE             the first request announces the whole length but closes the
                          connection after N bytes; later requests are served normally
  /cut-always/N/FILE      every request is cut after N bytes of its body
  /norange/FILE           ignores Range (always 200 with the whole file)
  /status/CODE/FILE       answers CODE with an empty body
"""

import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
LOG = sys.argv[2]
SEEN = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def note(self, status):
        with LOCK, open(LOG, "a") as log:
            log.write(f"{self.command} {self.path} {self.headers.get('Range', '-')} {status}\n")

    def do_GET(self):
        parts = self.path.lstrip("/").split("/")
        cut = None
        honour_range = True
        if parts[0] == "status":
            code = int(parts[1])
            self.note(code)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if parts[0] in ("cut", "cut-always"):
            with LOCK:
                count = SEEN.get(self.path, 0)
                SEEN[self.path] = count + 1
            if parts[0] == "cut-always" or count == 0:
                cut = int(parts[1])
            parts = parts[2:]
        elif parts[0] == "norange":
            honour_range = False
            parts = parts[1:]
        path = os.path.join(ROOT, *parts)
        if not os.path.isfile(path):
            self.note(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            data = f.read()
        start = 0
        status = 200
        rng = self.headers.get("Range")
        if honour_range and rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            if start >= len(data):
                self.note(416)
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:]
        self.note(status)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
