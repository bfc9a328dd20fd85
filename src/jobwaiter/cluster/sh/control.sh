# Run a node's start or stop commands, unless the node is already in the target state.
# Usage: bash -c "$(control.sh)" jw STATE_NAME start|stop [COMMAND...]
# A small state file (~/.jobwaiter/clusters/STATE_NAME.state) makes both idempotent:
# starting a started cluster or stopping a stopped one runs nothing and says so.
# start stops at the first failing command (what follows may depend on it); stop runs every
# command and fails if any failed (stop as much as possible). A stop also disarms autostop.
name=$1 action=$2
shift 2
case $action in start) target=started ;; stop) target=stopped ;; *) exit 2 ;; esac
f=$HOME/.jobwaiter/clusters/$name.state
# What jobwaiter keeps here is private (also when an older version made it readable); the
# commands themselves run with the caller's umask.
jw_umask=$(umask)
umask 077
mkdir -p "${f%/*}" && chmod 700 "$HOME/.jobwaiter" "${f%/*}" 2>/dev/null
# Any stop of the cluster disarms its autostop (first: the stop commands may power the node
# off); another cluster's, on the same machine, stays.
owner=$(cat "$HOME/.jobwaiter/watch/autostop.cluster" 2>/dev/null)
if [ "$action" = stop ] && { [ -z "$owner" ] || [ "$owner" = "$name" ]; }; then
  rm -f "$HOME/.jobwaiter/watch/autostop.json"
fi
if [ "$(cat "$f" 2>/dev/null)" = "$target" ]; then echo "already $target"; exit 0; fi
rc=0
for cmd in "$@"; do
  if ! (umask "$jw_umask"; exec bash -c "$cmd"); then
    echo "failed: $cmd" >&2
    [ "$action" = start ] && exit 1
    rc=1
  fi
done
[ "$rc" = 0 ] || exit "$rc"
echo "$target" > "$f" && chmod 600 "$f"
s=s; [ $# = 1 ] && s=
echo "ran $# $action command$s"
