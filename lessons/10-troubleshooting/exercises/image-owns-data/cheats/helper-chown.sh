#!/usr/bin/env bash
# fails: app-writes
# The chown after VOLUME is lost, app cannot write: gives the volume to 10001 from a busybox helper
# (the fix of the exercise before) instead of fixing the Dockerfile. The end state is right; only
# the history shows that the owner did not come from the image.
set -e
mkdir -p ~/stash
cat > ~/stash/Dockerfile <<'EOF'
FROM debian:bookworm-slim
RUN useradd --uid 10001 --no-create-home app && mkdir /data
VOLUME /data
RUN chown app:app /data
USER app
CMD ["sh", "-c", "while true; do date >> /data/log.txt; sleep 1; done"]
EOF
docker build -t stash ~/stash
docker run -d --name app -v stash-data:/data stash
docker run --rm -v stash-data:/data busybox chown 10001:10001 /data
sleep 2
