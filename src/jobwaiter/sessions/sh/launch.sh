# Create a job record and start its wrapper. Usage: bash -c "$(launch.sh)" jw NAME KIND
# WRAPPER STOP LOG TEE HOLD LIB, with on stdin: the job's command, NUL, meta.json, NUL, the
# head's watch order (JSON, or nothing), NUL, then the --env entries as NUL-separated
# KEY=VALUE. Big or secret values never travel in argv (other
# users see it, and one argument holds at most 128 KiB).
# KIND is tmux, screen or foreground. Prints "started <pid> <time>" once the wrapper holds
# its lock (foreground: runs the wrapper in place and exits with its status). A launch that
# fails exits 120-122 and leaves no record behind. With an order, the job is the head
# watcher's as soon as its wrapper runs (LIB/run.py starts a watcher if none runs): a client
# that dies after the launch leaves no job unwatched.
set -u
name=$1 kind=$2 wrapper=$3 stop=$4 log=$5 tee=$6 hold=$7 lib=${8-}
jw_umask=$(umask)
umask 077
for tool in flock env ${kind%foreground}; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed on the head" >&2; exit 120; }
done
d=$HOME/.jobwaiter/jobs/$name
fail() { echo "cannot launch the job: $1" >&2; rm -rf -- "$d"; exit "${2:-120}"; }
top=$HOME/.jobwaiter
# Said in one line, as what is in the way: a dangling link, a file.
if [ -L "$top" ] && [ ! -d "$top" ]; then
  echo "cannot create ~/.jobwaiter/jobs: ~/.jobwaiter is a link to $(readlink -- "$top"), which is not a directory" >&2
  exit 120
elif [ -e "$top" ] && [ ! -d "$top" ]; then
  echo "cannot create ~/.jobwaiter/jobs: ~/.jobwaiter is not a directory" >&2
  exit 120
fi
mkdir -p "$HOME/.jobwaiter/jobs" "$HOME/$(dirname -- "${log:-user/logs/x}")" \
  || { echo "cannot create ~/.jobwaiter/jobs or the log directory" >&2; exit 120; }
# Records and logs are private, also when an older version created their directories.
chmod 700 "$HOME/.jobwaiter" "$HOME/.jobwaiter/jobs" 2>/dev/null
[ -z "$log" ] || chmod 700 "$HOME/$(dirname -- "$log")" 2>/dev/null
# mkdir without -p: an existing record is never shared by two jobs.
mkdir "$d" || { echo "job record $d already exists" >&2; exit 120; }
IFS= read -r -d '' jw_cmd || fail "the command did not arrive"
IFS= read -r -d '' jw_meta || fail "the job's description did not arrive"
IFS= read -r -d '' jw_order || fail "the job's watch order did not arrive"
printf '%s' "$jw_cmd" > "$d/command" || fail "cannot write $d/command"
unset jw_cmd
printf '%s\n' "$jw_meta" > "$d/meta.json" || fail "cannot write $d/meta.json"
printf '%s' "$wrapper" > "$d/run.sh" || fail "cannot write $d/run.sh"
# This shell's environment as it was given to it (the kernel's copy, untouched by anything
# this script assigned), then --env, which wins.
{ cat "/proc/$$/environ" && cat; } > "$d/env.0" || fail "cannot save the job's environment"
[ -z "$stop" ] || printf '%s\n' "$stop" > "$d/stop.sh" || fail "cannot write $d/stop.sh"

# Without BASH_ENV and ENV: a start-up file must not run inside the wrapper (the job itself
# still gets them, from its saved environment).
run=(env -u BASH_ENV -u ENV bash --noprofile --norc "$d/run.sh" "$d" "$log" "$tee" "$hold"
     "$kind" "$jw_umask")
case $kind in
  foreground) exec "${run[@]}" ;;
  tmux) tmux new-session -d -s "$name" -x 200 -y 50 -- "${run[@]}" \
          || fail "tmux could not start the session" 121 ;;
  screen) screen -dmS "$name" "${run[@]}" || fail "screen could not start the session" 121 ;;
  *) fail "unknown session kind $kind" ;;
esac

# Return only once the wrapper runs, so that "no lock holder" later always means "ended".
for _ in $(seq 2000); do
  if [ -e "$d/pid" ]; then
    if [ -n "$jw_order" ] && [ -n "$lib" ]; then
      printf '%s\n' "$jw_order" > "$d/.watch.json.$$" && mv -f "$d/.watch.json.$$" "$d/watch.json" \
        && python3 -I "$HOME/$lib/run.py" ensure </dev/null >/dev/null 2>&1
    fi
    echo "started $(cat "$d/pid") $(cat "$d/started")"; exit 0
  fi
  sleep 0.005
done
# The session may still start the wrapper: only a record nobody started is removed.
echo "the $kind session did not start the job within 10 s" >&2
exit 122
