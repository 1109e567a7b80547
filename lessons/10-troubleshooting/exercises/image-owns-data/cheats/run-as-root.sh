#!/usr/bin/env bash
# fails: app-writes
# Builds the right image but runs it with --user 0: root writes anywhere, the point is lost.
set -e
mkdir -p ~/stash
cat > ~/stash/Dockerfile <<'EOF'
FROM debian:bookworm-slim
RUN useradd --uid 10001 --no-create-home app && mkdir /data && chown app:app /data
VOLUME /data
USER app
CMD ["sh", "-c", "while true; do date >> /data/log.txt; sleep 5; done"]
EOF
docker build -t stash ~/stash
docker run -d --name app --user 0 -v stash-data:/data stash
sleep 1
