"""Stowage notes: entries in SQLite, uploaded files on disk. Python 3 standard library only.

  GET  /                 page: add an entry, upload a file, list both
  POST /entries          form field "text" (or JSON {"text": ...}) -> adds an entry
  POST /upload           multipart form, field "file" -> saved in UPLOAD_DIR
  GET  /uploads/NAME     an uploaded file
  GET  /api/entries      JSON list of entries
  GET  /api/uploads      JSON list of uploaded files
  GET  /health           "ok" (JSON with the paths in use)
"""
import email.parser
import email.policy
import html
import json
import os
import sqlite3
import sys
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATABASE_PATH = os.environ.get("DATABASE_PATH", "/data/app.db")
UPLOAD_DIR = os.environ.get("UPLOAD_DIR", "/app/uploads")
PORT = int(os.environ.get("PORT", "8000"))
MAX_UPLOAD = 20 * 1024 * 1024


def db():
    conn = sqlite3.connect(DATABASE_PATH, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def init():
    os.makedirs(os.path.dirname(os.path.abspath(DATABASE_PATH)), exist_ok=True)
    os.makedirs(UPLOAD_DIR, exist_ok=True)
    existed = os.path.exists(DATABASE_PATH)
    with db() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS entries ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " text TEXT NOT NULL,"
            " created_at TEXT NOT NULL)"
        )
    count = list_entries_count()
    state = "opened existing" if existed else "created new"
    log(f"{state} database {DATABASE_PATH} ({count} entries); uploads in {UPLOAD_DIR} ({len(list_uploads())} files)")


def list_entries_count():
    with db() as conn:
        return conn.execute("SELECT count(*) FROM entries").fetchone()[0]


def list_entries():
    with db() as conn:
        rows = conn.execute("SELECT id, text, created_at FROM entries ORDER BY id").fetchall()
    return [dict(r) for r in rows]


def add_entry(text):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with db() as conn:
        cur = conn.execute("INSERT INTO entries (text, created_at) VALUES (?, ?)", (text, now))
        return {"id": cur.lastrowid, "text": text, "created_at": now}


def list_uploads():
    try:
        names = sorted(n for n in os.listdir(UPLOAD_DIR) if os.path.isfile(os.path.join(UPLOAD_DIR, n)))
    except FileNotFoundError:
        return []
    return [{"name": n, "size": os.path.getsize(os.path.join(UPLOAD_DIR, n)), "url": "/uploads/" + urllib.parse.quote(n)} for n in names]


def safe_name(name):
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    name = "".join(c for c in name if c.isalnum() or c in "._- ")
    return name.lstrip(".") or "upload.bin"


def log(message):
    print(f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Notes</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40em; margin: 2em auto; padding: 0 1em; color-scheme: light dark; }}
form {{ margin: 1em 0; }} input[type=text] {{ width: 70%; }} li {{ margin: .3em 0; }} small {{ color: gray; }}
</style></head>
<body>
<h1>Notes</h1>
<form method="post" action="/entries">
  <label>New entry <input type="text" name="text" required autofocus></label>
  <button type="submit">Add</button>
</form>
<h2>Entries ({n_entries})</h2>
<ul id="entries">{entries}</ul>
<h2>Files ({n_uploads})</h2>
<form method="post" action="/upload" enctype="multipart/form-data">
  <input type="file" name="file" required> <button type="submit">Upload</button>
</form>
<ul id="uploads">{uploads}</ul>
<p><small>Database: {db} &middot; uploads: {up} &middot; container: {host}</small></p>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "stowage-notes/1.0"

    def log_message(self, fmt, *args):
        log(f"{self.client_address[0]} \"{self.requestline}\" {args[1] if len(args) > 1 else ''}".rstrip())

    def send(self, status, body, content_type="text/plain; charset=utf-8", headers=None):
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, value):
        self.send(status, json.dumps(value, indent=2) + "\n", "application/json")

    def wants_json(self):
        return "application/json" in self.headers.get("Accept", "") or "application/json" in self.headers.get("Content-Type", "")

    def redirect(self, location):
        self.send(303, f"See {location}\n", headers={"Location": location})

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_UPLOAD:
            raise ValueError(f"request too large ({length} bytes; the limit is {MAX_UPLOAD})")
        return self.rfile.read(length) if length else b""

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path == "/":
                entries = "".join(f"<li>{html.escape(e['text'])} <small>#{e['id']} {e['created_at']}</small></li>" for e in list_entries())
                uploads = "".join(f"<li><a href=\"{html.escape(u['url'])}\">{html.escape(u['name'])}</a> <small>{u['size']} bytes</small></li>" for u in list_uploads())
                page = PAGE.format(
                    entries=entries or "<li><small>none yet</small></li>",
                    uploads=uploads or "<li><small>none yet</small></li>",
                    n_entries=list_entries_count(),
                    n_uploads=len(list_uploads()),
                    db=html.escape(DATABASE_PATH),
                    up=html.escape(UPLOAD_DIR),
                    host=html.escape(os.uname().nodename),
                )
                self.send(200, page, "text/html; charset=utf-8")
            elif path == "/health":
                self.send_json(200, {"status": "ok", "database": DATABASE_PATH, "uploads": UPLOAD_DIR, "entries": list_entries_count()})
            elif path in ("/api/entries", "/entries"):
                self.send_json(200, list_entries())
            elif path == "/api/uploads":
                self.send_json(200, list_uploads())
            elif path.startswith("/uploads/"):
                name = urllib.parse.unquote(path[len("/uploads/"):])
                full = os.path.join(UPLOAD_DIR, name)
                if "/" in name or name.startswith(".") or not os.path.isfile(full):
                    self.send(404, "no such file\n")
                    return
                with open(full, "rb") as f:
                    data = f.read()
                self.send(200, data, "application/octet-stream", {"Content-Disposition": f"inline; filename=\"{name}\""})
            else:
                self.send(404, "not found\n")
        except Exception as error:  # noqa: BLE001 - a teaching app: say what went wrong
            log(f"error: {error!r}")
            self.send(500, f"error: {error}\n")

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path in ("/entries", "/api/entries"):
                raw = self.body()
                ctype = self.headers.get("Content-Type", "")
                if "application/json" in ctype:
                    text = str(json.loads(raw or b"{}").get("text", ""))
                else:
                    text = urllib.parse.parse_qs(raw.decode("utf-8")).get("text", [""])[0]
                text = text.strip()
                if not text:
                    self.send(400, "the entry needs some text (form field or JSON key \"text\")\n")
                    return
                entry = add_entry(text)
                log(f"added entry #{entry['id']}: {text[:60]}")
                if self.wants_json() or path.startswith("/api/") or "text/html" not in self.headers.get("Accept", ""):
                    self.send_json(201, entry)
                else:
                    self.redirect("/")
            elif path in ("/upload", "/api/uploads"):
                ctype = self.headers.get("Content-Type", "")
                if not ctype.startswith("multipart/form-data"):
                    self.send(400, "send the file as multipart/form-data with the field name \"file\" (curl -F file=@NAME)\n")
                    return
                raw = self.body()
                message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    b"Content-Type: " + ctype.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + raw
                )
                saved = []
                for part in message.iter_parts():
                    if part.get_param("name", header="content-disposition") != "file":
                        continue
                    filename = part.get_filename()
                    if not filename:
                        continue
                    name = safe_name(filename)
                    data = part.get_payload(decode=True) or b""
                    os.makedirs(UPLOAD_DIR, exist_ok=True)
                    with open(os.path.join(UPLOAD_DIR, name), "wb") as f:
                        f.write(data)
                    log(f"saved upload {name} ({len(data)} bytes) in {UPLOAD_DIR}")
                    saved.append({"name": name, "size": len(data), "url": "/uploads/" + urllib.parse.quote(name)})
                if not saved:
                    self.send(400, "no file in the form (field name \"file\")\n")
                    return
                if self.wants_json() or path.startswith("/api/") or "text/html" not in self.headers.get("Accept", ""):
                    self.send_json(201, saved[0] if len(saved) == 1 else saved)
                else:
                    self.redirect("/")
            else:
                self.send(404, "not found\n")
        except ValueError as error:
            self.send(400, f"{error}\n")
        except Exception as error:  # noqa: BLE001
            log(f"error: {error!r}")
            self.send(500, f"error: {error}\n")


def main():
    try:
        init()
    except Exception as error:  # noqa: BLE001
        print(f"notes: cannot open the database {DATABASE_PATH} or uploads {UPLOAD_DIR}: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True
    log(f"notes listening on http://0.0.0.0:{PORT}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        log("notes stopped")


if __name__ == "__main__":
    main()
