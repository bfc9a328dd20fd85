# The shell state our scripts assume, whatever the environment exported: SHELLOPTS and
# BASHOPTS turn options on at start-up, and exported functions could stand in for flock or
# tmux. (The job gets the environment verbatim; only our own shell is cleaned.)
IFS=$' \t\n'
set +o allexport +o errexit +o noclobber +o noglob +o nounset +o pipefail +o verbose +o xtrace +o posix
shopt -u failglob nullglob dotglob nocaseglob nocasematch globstar extglob expand_aliases 2>/dev/null
unset -f $(compgen -A function) 2>/dev/null
unset CDPATH GLOBIGNORE
