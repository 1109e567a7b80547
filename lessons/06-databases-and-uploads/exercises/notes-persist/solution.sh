#!/usr/bin/env bash
set -e
cd ~
wait_notes() { for _ in $(seq 1 60); do curl -fsS http://notes:8000/health >/dev/null 2>&1 && return; sleep 0.5; done; echo "notes did not answer"; return 1; }
docker rm -f notes >/dev/null 2>&1 || true
docker run -d --name notes -v notes-db:/data -v notes-uploads:/app/uploads stowage/notes
wait_notes
curl -fsS http://notes:8000/entries -d text='first note'
echo hello > hello.txt
curl -fsS http://notes:8000/upload -F file=@hello.txt -H 'Accept: application/json'
sleep 1.1 # the new container must be created measurably later than the first note
docker rm -f notes
docker run -d --name notes -v notes-db:/data -v notes-uploads:/app/uploads stowage/notes
wait_notes
curl -fsS http://notes:8000/api/entries
curl -fsS http://notes:8000/api/uploads
