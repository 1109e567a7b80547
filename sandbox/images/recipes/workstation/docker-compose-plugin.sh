#!/bin/sh
# `docker compose ...` runs Debian's docker-compose 1.29 (Compose v1), so the v2 command works.
# The Docker CLI runs a plugin as `docker-compose docker-cli-plugin-metadata` to learn what it
# is, then as `docker-compose compose ARGS...`.
case "${1-}" in
    docker-cli-plugin-metadata)
        printf '%s\n' '{"SchemaVersion":"0.1.0","Vendor":"Stowage","Version":"1.29.2","ShortDescription":"Docker Compose (v1 behind the v2 command)"}'
        exit 0
        ;;
    compose)
        shift
        ;;
esac
exec /usr/bin/docker-compose "$@"
