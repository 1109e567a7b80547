#!/usr/bin/env bash
# fails: app-writes
# Right image, but a folder of the home opened to everyone and bind-mounted at /data: nothing is
# filled from the image.
set -e
mkdir -p ~/stash ~/stash-data
chmod 777 ~/stash-data
cat > ~/stash/Dockerfile <<'EOF'
FROM debian:bookworm-slim
RUN useradd --uid 10001 --no-create-home app && mkdir /data && chown app:app /data
VOLUME /data
USER app
CMD ["sh", "-c", "while true; do date >> /data/log.txt; sleep 5; done"]
EOF
docker build -t stash ~/stash
docker run -d --name app -v ~/stash-data:/data stash
sleep 1
