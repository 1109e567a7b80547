#!/usr/bin/env bash
left=$(docker volume ls -q --filter label=temp=true | tr '\n' ' ')
[ -z "$left" ] || { echo "Still there, labelled temp=true: $left"; exit 1; }
for v in blog-db blog-uploads shop-db; do
  docker volume inspect "$v" >/dev/null 2>&1 || { echo "$v is gone too, with its data: only volumes labelled temp=true were to go (docker volume prune --all without a filter takes every unused volume, and so does a plain prune on Engine 20.10). Restart the exercise to get it back."; exit 1; }
done
