# One poll of a job: block up to BLOCK seconds until it ends, then say where it is.
# Usage: bash -c "$(check.sh)" jw NAME BLOCK
# Prints one of: "status <rc> <ended_at>", "running", "starting", "lost", "unknown".
name=$1 block=$2
d=$HOME/.jobwaiter/jobs/$name
[ -d "$d" ] || { echo unknown; exit 0; }
if [ ! -s "$d/status" ] && [ -e "$d/pid" ]; then
  # Shared lock: granted the moment the wrapper (which holds it exclusively) is gone.
  flock -s -w "$block" "$d/lock" true 2>/dev/null
fi
if [ -s "$d/status" ]; then echo "status $(cat "$d/status")"; exit 0; fi
if [ ! -e "$d/pid" ]; then echo starting; exit 0; fi
if flock -s -n "$d/lock" true 2>/dev/null; then
  # Nobody holds the lock: the wrapper is gone. It writes the status before it lets go,
  # so a status appearing between our two reads is still seen here.
  if [ -s "$d/status" ]; then echo "status $(cat "$d/status")"; else echo lost; fi
else
  echo running
fi
