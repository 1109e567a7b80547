# /etc/bash.bashrc: every interactive bash in the workstation (login shells get here through
# /etc/profile). The student's home is an empty folder, so this is the whole shell setup.

# Not interactive: nothing to do.
[ -z "${PS1-}" ] && return

shopt -s checkwinsize histappend
HISTCONTROL=ignoreboth
HISTSIZE=5000
HISTFILESIZE=10000

# The prompt reads "student@stowage:~$ " (one colour around the whole text).
PS1='\[\e[1;32m\]\u@stowage:\w\$ \[\e[0m\]'

if [ -x /usr/bin/dircolors ]; then
    eval "$(dircolors -b)"
    alias ls='ls --color=auto'
    alias grep='grep --color=auto'
fi
alias ll='ls -l'
alias la='ls -A'

# Tab completion, including docker, docker compose and docker-compose.
if ! shopt -oq posix && [ -f /usr/share/bash-completion/bash_completion ]; then
    . /usr/share/bash-completion/bash_completion
fi

# Welcome, once per terminal (not again in nested shells).
if [ -z "${STOWAGE_WELCOMED-}" ] && [ -r /etc/stowage/welcome.txt ]; then
    export STOWAGE_WELCOMED=1
    cat /etc/stowage/welcome.txt
fi
