#!/usr/bin/env bash
# fails: db-with-volume
# Runs postgres without -v: its data goes to an anonymous volume.
set -e
docker run -d --name shop-db -e POSTGRES_PASSWORD=secret postgres:15
