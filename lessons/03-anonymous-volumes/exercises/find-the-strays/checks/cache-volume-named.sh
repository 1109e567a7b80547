#!/usr/bin/env bash
want=$(docker inspect --format '{{range .Mounts}}{{if eq .Destination "/cache"}}{{.Name}}{{end}}{{end}}' cache 2>/dev/null)
[ -n "$want" ] || { echo "The container cache or its /cache volume is gone; restart the exercise to get it back."; exit 1; }
[ -f ~/cache-volume.txt ] || { echo "There is no file ~/cache-volume.txt yet."; exit 1; }
got=$(tr -d '[:space:]' < ~/cache-volume.txt)
[ -n "$got" ] || { echo "~/cache-volume.txt is empty: put the volume's name in it."; exit 1; }
[ "$got" = "$want" ] || { echo "~/cache-volume.txt says \"${got:0:20}...\", which is not the name of the volume mounted at /cache in cache (look at the Name field in its Mounts)."; exit 1; }
