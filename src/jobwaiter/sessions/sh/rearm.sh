# Arm again a stop that `jobwaiter disarm` cancelled: remove its claim, and only that one
# (a stop claimed by whoever runs it stays claimed).  Usage: bash -c "$(rearm.sh)" jw NAME
d=$HOME/.jobwaiter/jobs/$1
[ "$(head -n 1 "$d/stop.claim" 2>/dev/null)" != disarmed ] || rm -f "$d/stop.claim"
exit 0
