#!/usr/bin/env bash
docker volume rm old-cache || true
docker rm -f -v temp || true
docker volume ls
