#!/usr/bin/env bash
docker volume inspect app-data >/dev/null 2>&1 || { echo "There is no volume named app-data yet: create it with docker volume create app-data."; exit 1; }
