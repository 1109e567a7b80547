#!/usr/bin/env bash
# fails: app-writes
# The chown after VOLUME is lost, app cannot write: fixes the owner inside app as root with
# docker exec -u 0 instead of fixing the Dockerfile.
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
docker exec -u 0 app chown app:app /data
sleep 2
