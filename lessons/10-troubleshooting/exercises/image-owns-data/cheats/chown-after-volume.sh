#!/usr/bin/env bash
# fails: app-writes
# Gives /data to app after the VOLUME line: the classic builder throws that chown away, so the
# volume is filled with a root-owned /data and app cannot write.
set -e
mkdir -p ~/stash
cat > ~/stash/Dockerfile <<'EOF'
FROM debian:bookworm-slim
RUN useradd --uid 10001 --no-create-home app && mkdir /data
VOLUME /data
RUN chown app:app /data
USER app
CMD ["sh", "-c", "while true; do date >> /data/log.txt; sleep 5; done"]
EOF
docker build -t stash ~/stash
docker run -d --name app -v stash-data:/data stash
sleep 1
