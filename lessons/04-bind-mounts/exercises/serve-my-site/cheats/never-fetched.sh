#!/usr/bin/env bash
# fails: live-edit
# Writes about.html and never asks web for it.
set -e
mkdir -p ~/site
echo '<h1>Hello</h1>' > ~/site/index.html
docker run -d --name web -v "$HOME/site":/usr/share/nginx/html:ro nginx
echo '<p>About me</p>' > ~/site/about.html
