#!/usr/bin/env bash
# fails: notes-volumes
# Only the database gets a volume; the uploads stay in the writable layer.
set -e
docker run -d --name notes -v notes-db:/data stowage/notes
