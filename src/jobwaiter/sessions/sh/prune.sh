# Remove the records and logs of ended jobs.  Usage: bash -c "$(lib.sh prune.sh)" jw NAME...
# Each job is checked again here: one whose wrapper still holds its lock is never removed.
cd "$HOME/.jobwaiter/jobs" 2>/dev/null || exit 0
for n in "$@"; do
  [ -d "$n" ] || continue
  if [ -e "$n/pid" ] && ! flock -s -n "$n/lock" true; then echo "kept $n (running)"; continue; fi
  if [ -n "$(job_survivors "$n")" ]; then echo "kept $n (lost, but processes of it still run)"; continue; fi
  # A dead session (a screen socket left by a killed server) goes with the record.
  end_session "$n"
  rm -rf -- "$n" "$HOME/user/logs/$n.log" && echo "removed $n"
done
