#!/usr/bin/env bash
docker inspect --format '{{range .Mounts}}{{.Name}}{{end}}' cache > ~/cache-volume.txt
for v in $(docker volume ls -q --filter dangling=true | grep -E -x "[0-9a-f]{64}"); do docker volume rm "$v"; done
docker rm -f db >/dev/null 2>&1 || true
docker run -d --name db -e POSTGRES_PASSWORD=secret -v pgdata:/var/lib/postgresql/data postgres:15
