# Claim the stop that follows job NAME: whoever claims first (the head's watch or a client)
# runs it, so the cluster is stopped at most once per job however many wait for it.
# Usage: bash -c "$(claim.sh)" jw NAME BY      Prints "claimed" or "taken <by>".
name=$1 by=$2
umask 077
d=$HOME/.jobwaiter/jobs/$name
[ -d "$d" ] || { echo "no job $name on this node" >&2; exit 2; }
# noclobber opens with O_EXCL: of two claims at the same instant, exactly one creates it.
if (set -C; printf '%s\n' "$by" > "$d/stop.claim") 2>/dev/null; then
  echo claimed
else
  echo "taken $(head -n 1 "$d/stop.claim" 2>/dev/null)"
fi
