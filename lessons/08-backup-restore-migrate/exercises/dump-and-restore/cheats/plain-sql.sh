#!/usr/bin/env bash
# fails: dump-made
# A plain SQL dump, which pg_restore cannot read.
set -e
docker exec shop-db pg_dump -U postgres shop > ~/shop.dump
