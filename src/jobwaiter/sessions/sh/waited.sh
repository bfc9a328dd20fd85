# Note in a job's record how waiting for it ended when that is not what its exit status says
# (an engine waiter failed or timed out after the job exited 0), for `jobs`.
# Usage: bash -c "$(waited.sh)" jw NAME OUTCOME
d=$HOME/.jobwaiter/jobs/$1
[ -d "$d" ] || exit 0
umask 077
printf '%s\n' "$2" > "$d/waited"
