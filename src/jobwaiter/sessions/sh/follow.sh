# Print a job's log and, with FOLLOW=1, keep printing until the job ends (not until the file
# stops growing: a quiet job is not a finished one).  Usage: bash -c "$(follow.sh)" jw NAME LOG
# FOLLOW LINES   (LINES: "all" or a count of trailing lines). Exit 3: no log; 4: the log is
# empty (and not followed).
name=$1 log=$2 follow=$3 lines=$4
d=$HOME/.jobwaiter/jobs/$name
[ -f "$log" ] || { echo "no log at ~/$log" >&2; exit 3; }
n=+1; [ "$lines" = all ] || n=$lines
if [ "$follow" != 1 ] || [ -s "$d/status" ] || [ ! -e "$d/pid" ]; then
  [ -s "$log" ] || exit 4  # empty, and nothing more will come to it here: say so
  exec tail -n "$n" -- "$log"
fi
# A stand-in process that lives exactly as long as the job: it exits when it gets the
# wrapper's lock. tail --pid stops following (after a last read) once it is gone. It is
# started from a subshell that exits at once, so it is not tail's child: a child would stay
# a zombie, which tail would take for alive.
stand_in=$(sh -c 'flock -s "$1" true </dev/null >/dev/null 2>&1 & echo $!' sh "$d/lock")
exec tail -n "$n" -s 0.2 -f --pid="$stand_in" -- "$log"
