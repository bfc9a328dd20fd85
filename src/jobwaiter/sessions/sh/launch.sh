# Create a job record and start its wrapper. Usage: bash -c "$(launch.sh)" jw NAME KIND META
# WRAPPER ENV_EXTRA STOP LOG TEE HOLD, with the job's command on stdin.
# KIND is tmux, screen or foreground. Prints "started <pid>" once the wrapper holds its lock
# and its start time (foreground: runs the wrapper in place and exits with its status).
set -u
name=$1 kind=$2 meta=$3 wrapper=$4 env_extra=$5 stop=$6 log=$7 tee=$8 hold=$9
for tool in flock ${kind%foreground}; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed on the head" >&2; exit 120; }
done
d=$HOME/.jobwaiter/jobs/$name
mkdir -p "$HOME/.jobwaiter/jobs" "$HOME/user/logs" || exit 120
# mkdir without -p: an existing record is never shared by two jobs.
mkdir "$d" || { echo "job record $d already exists" >&2; exit 120; }
cat > "$d/command" || exit 120
printf '%s\n' "$meta" > "$d/meta.json"
printf '%s' "$wrapper" > "$d/run.sh"
{ export -p; printf '%s' "$env_extra"; } > "$d/env.sh"
[ -z "$stop" ] || printf '%s\n' "$stop" > "$d/stop.sh"

run=(bash --noprofile --norc "$d/run.sh" "$d" "$log" "$tee" "$hold")
case $kind in
  foreground) exec "${run[@]}" ;;
  tmux) tmux new-session -d -s "$name" -x 200 -y 50 -- "${run[@]}" || exit 121 ;;
  screen) screen -dmS "$name" "${run[@]}" || exit 121 ;;
  *) echo "unknown session kind $kind" >&2; exit 120 ;;
esac

# Return only once the wrapper runs, so that "no lock holder" later always means "ended".
for _ in $(seq 2000); do
  if [ -e "$d/pid" ]; then echo "started $(cat "$d/pid") $(cat "$d/started")"; exit 0; fi
  sleep 0.005
done
echo "the $kind session did not start the job within 10 s" >&2
exit 122
