# One poll of a job: block up to BLOCK seconds until it ends, then say where it is.
# Usage: bash -c "$(lib.sh check.sh)" jw NAME BLOCK
# Prints one of: "status <rc> <ended_at>", "running", "starting", "lost <n>" (n: processes
# of the job that still run), "unknown". After a status, a second line "stop <rc>" or
# "stopping" tells about a stop that runs inside the session.
name=$1 block=$2
d=$HOME/.jobwaiter/jobs/$name
[ -d "$d" ] || { echo unknown; exit 0; }
status() {
  echo "status $(head -n 1 "$d/status")"
  [ -f "$d/stop.sh" ] || return 0
  # The wrapper holds stop.lock until the stop's status is written.
  [ -s "$d/stop_status" ] || flock -s -w "$block" "$d/stop.lock" true 2>/dev/null
  if [ -s "$d/stop_status" ]; then echo "stop $(head -n 1 "$d/stop_status")"; else echo stopping; fi
}
if [ ! -s "$d/status" ] && [ -e "$d/pid" ]; then
  # Shared lock: granted the moment the wrapper (which holds it exclusively) is gone.
  flock -s -w "$block" "$d/lock" true 2>/dev/null
fi
if [ -s "$d/status" ]; then status; exit 0; fi
if [ ! -e "$d/pid" ]; then echo starting; exit 0; fi
if flock -s -n "$d/lock" true 2>/dev/null; then
  # Nobody holds the lock: the wrapper is gone. It writes the status before it lets go, and
  # a kill that took the wrapper down writes it before it lets go of kill.lock.
  [ ! -e "$d/kill.lock" ] || flock -s -w 60 "$d/kill.lock" true 2>/dev/null
  if [ -s "$d/status" ]; then status; else echo "lost $(job_survivors "$name" | wc -l)"; fi
else
  echo running
fi
