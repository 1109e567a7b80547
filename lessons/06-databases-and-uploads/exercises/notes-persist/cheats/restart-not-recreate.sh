#!/usr/bin/env bash
# fails: notes-recreated
# Restarts notes instead of removing it and running a new one.
set -e
docker run -d --name notes -v notes-db:/data -v notes-uploads:/app/uploads stowage/notes
for _ in $(seq 1 60); do curl -fsS http://notes:8000/health >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS http://notes:8000/entries -d text='first note'
echo hello > hello.txt
curl -fsS http://notes:8000/upload -F file=@hello.txt -H 'Accept: application/json'
sleep 1.1
docker restart -t 1 notes
