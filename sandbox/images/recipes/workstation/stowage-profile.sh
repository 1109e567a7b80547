# /etc/profile.d/stowage.sh: environment of login shells in the workstation.
export LANG="${LANG:-C.UTF-8}"
export EDITOR="${EDITOR:-nano}"
export PAGER="${PAGER:-less}"
export LESS="${LESS:--R}"
# The docker CLI finds the engine at /var/run/docker.sock (the session's proxy); never elsewhere.
unset DOCKER_HOST DOCKER_CONTEXT
