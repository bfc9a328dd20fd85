# Stop a job: signal it, escalate to KILL after GRACE seconds, record 128+N if the wrapper
# could not, and end the session.  Usage: bash -c "$(lib.sh kill.sh)" jw NAME SIGNAL GRACE
# Prints "status <rc>" (how the job ended), "already <rc>" when it had ended before, or
# "lost <n>" when its wrapper was already gone without a status (n: leftover processes of
# the job that were signalled; the job stays lost: nobody saw how it ended).
#
# Only processes proven to be the job's are signalled: the wrapper's process group while the
# wrapper holds the record's lock (then the pid file is its own), and processes whose
# environment names the job. A pid file alone proves nothing once the wrapper is gone.
name=$1 sig=$2 grace=$3
d=$HOME/.jobwaiter/jobs/$name
[ -d "$d" ] || { echo "no job $name on this node" >&2; exit 2; }
if [ -s "$d/status" ]; then end_session "$name"; echo "already $(cut -d' ' -f1 "$d/status")"; exit 0; fi
[ -e "$d/pid" ] || { echo "job $name has not started yet" >&2; exit 1; }
# Held while we kill: a waiter that finds the wrapper gone waits for our status first, so
# the job has one recorded truth, not "lost" from one reader and 137 from another.
exec 7>>"$d/kill.lock" && flock -x 7
wrapper=""
if ! flock -s -n "$d/lock" true 2>/dev/null; then wrapper=$(cat "$d/pid" 2>/dev/null); fi
# A process group counts while a live (not zombie) process is in it: a zombie nobody reaps
# (an init that does not) would otherwise keep "kill -0 -- -GROUP" true for ever.
group_alive() {
  local f s a
  for f in /proc/[0-9]*/stat; do
    read -r s < "$f" 2>/dev/null || continue
    a=(${s##*) })
    [ "${a[0]}" != Z ] && [ "${a[2]}" = "$1" ] && return 0
  done
  return 1
}
alive() {
  { [ -n "$wrapper" ] && group_alive "$wrapper"; } || [ -n "$(job_pids "$name")" ]
}
signal() {
  [ -z "$wrapper" ] || kill "-$1" -- "-$wrapper" 2>/dev/null
  local p
  for p in $(job_pids "$name"); do kill "-$1" "$p" 2>/dev/null; done
  return 0
}
count=$(job_pids "$name" | wc -l)
used=$sig
if alive; then
  # Marks the record as killed (the signal asked for), so that its 128+N is not read as the
  # job's own failure. Written before the signal: the wrapper may record its status at once.
  printf '%s\n' "$sig" > "$d/killed"
  signal "$sig"
  for _ in $(seq "$(awk -v g="$grace" 'BEGIN { print int(g * 10) + 1 }')"); do
    alive || break; sleep 0.1
  done
  if alive; then
    signal KILL
    used=9
    for _ in $(seq 100); do alive || break; sleep 0.1; done
    alive && { echo "job $name did not die" >&2; exit 1; }
  fi
fi
if [ -z "$wrapper" ] && [ ! -s "$d/status" ]; then end_session "$name"; echo "lost $count"; exit 0; fi
# The wrapper records the status itself when it survives (it catches TERM and INT); when it
# was killed too, record it here. First writer wins, so a status already there stays.
flock -s -w 10 "$d/lock" true 2>/dev/null
printf '%s %s\n' "$((128 + used))" "$(date +%s.%N)" > "$d/status.$$"
ln "$d/status.$$" "$d/status" 2>/dev/null
rm -f "$d/status.$$"
end_session "$name"
echo "status $(cut -d' ' -f1 "$d/status")"
