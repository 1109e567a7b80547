#!/usr/bin/env bash
docker inspect notes >/dev/null 2>&1 || { echo "There is no container named notes: start it first."; exit 1; }
n=$(docker run --rm -v notes-db:/data stowage/notes sqlite3 /data/app.db 'SELECT count(*) FROM entries' 2>/dev/null)
[ "${n:-0}" -ge 1 ] 2>/dev/null || { echo "The volume notes-db holds no notes yet: add one with curl http://notes:8000/entries -d text='first note'."; exit 1; }
f=$(docker run --rm -v notes-uploads:/u busybox ls -A /u 2>/dev/null)
[ -n "$f" ] || { echo "There are notes in notes-db, but no file in notes-uploads yet: upload one with curl http://notes:8000/upload -F file=@hello.txt."; exit 1; }
