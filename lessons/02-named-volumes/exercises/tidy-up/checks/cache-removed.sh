#!/usr/bin/env bash
if docker volume inspect old-cache >/dev/null 2>&1; then echo "The volume old-cache still exists: remove it with docker volume rm old-cache."; exit 1; fi
