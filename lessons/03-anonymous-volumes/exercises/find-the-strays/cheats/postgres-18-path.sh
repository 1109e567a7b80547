#!/usr/bin/env bash
# fails: db-named-volume
# Mounts at postgres 18's path on a postgres 15 image: the data still goes to an anonymous volume.
set -e
docker run -d --name db -e POSTGRES_PASSWORD=secret -v pgdata:/var/lib/postgresql postgres:15
