# Stop a job: signal its process group, escalate to KILL after GRACE seconds, record 128+N if
# the wrapper could not, and end the session.  Usage: bash -c "$(kill.sh)" jw NAME SIGNAL GRACE
# Prints "status <rc>" (how the job ended) or "already <rc>" when it had ended before.
name=$1 sig=$2 grace=$3
d=$HOME/.jobwaiter/jobs/$name
[ -d "$d" ] || { echo "no job $name on this node" >&2; exit 2; }
end_session() {
  tmux kill-session -t "=$name" 2>/dev/null
  # screen -S NAME matches prefixes: address the session by its exact "pid.name".
  local s
  s=$(screen -ls 2>/dev/null | grep -o "[0-9][0-9]*\.$name[[:space:]]" | head -n 1)
  [ -z "$s" ] || screen -S "${s%[[:space:]]}" -X quit
  return 0
}
if [ -s "$d/status" ]; then end_session; echo "already $(cut -d' ' -f1 "$d/status")"; exit 0; fi
pid=$(cat "$d/pid" 2>/dev/null)
[ -n "$pid" ] || { echo "job $name has not started yet" >&2; exit 1; }
used=$sig
# The wrapper leads the job's process group, and the job's children are in it too: the job is
# over only when the whole group is gone (a child ignoring the signal is not left behind).
gone() { ! kill -0 -- "-$pid" 2>/dev/null; }
if ! gone; then
  kill "-$sig" -- "-$pid" 2>/dev/null
  for _ in $(seq "$(awk -v g="$grace" 'BEGIN { print int(g * 10) + 1 }')"); do
    gone && break; sleep 0.1
  done
  if ! gone; then
    kill -KILL -- "-$pid" 2>/dev/null
    used=9
    for _ in $(seq 100); do gone && break; sleep 0.1; done
    gone || { echo "job $name did not die" >&2; exit 1; }
  fi
fi
# The wrapper records the status itself when it survives (it catches TERM and INT); when it
# was killed too, record it here. First writer wins, so a status already there stays.
printf '%s %s\n' "$((128 + used))" "$(date +%s.%N)" > "$d/status.$$"
ln "$d/status.$$" "$d/status" 2>/dev/null
rm -f "$d/status.$$"
end_session
echo "status $(cut -d' ' -f1 "$d/status")"
