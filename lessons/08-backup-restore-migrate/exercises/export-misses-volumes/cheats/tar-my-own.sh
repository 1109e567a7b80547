#!/usr/bin/env bash
# fails: exported
# Makes any tar file called diary.tar.
set -e
cd ~ && echo x > x && tar cf diary.tar x
