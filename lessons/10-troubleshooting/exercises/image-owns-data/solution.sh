#!/usr/bin/env bash
set -e
mkdir -p ~/stash
# The user and its /data folder first, in one RUN; then VOLUME, then USER.
cat > ~/stash/Dockerfile <<'EOF'
FROM debian:bookworm-slim
RUN useradd --uid 10001 --no-create-home app \
 && mkdir /data && chown app:app /data
VOLUME /data
USER app
CMD ["sh", "-c", "while true; do date >> /data/log.txt; sleep 5; done"]
EOF
docker build -t stash ~/stash
docker image inspect --format '{{.Config.User}} {{json .Config.Volumes}}' stash
docker run -d --name app -v stash-data:/data stash
sleep 1
docker exec app id
docker exec app ls -ln /data
# The same seen from outside, as in Step 2: 10001 owns the volume.
docker run --rm -v stash-data:/v busybox ls -lna /v
