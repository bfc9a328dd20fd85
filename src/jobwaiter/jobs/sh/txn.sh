# The cluster's stop as one transaction, journaled on the head (jobs/transaction.py).
# Usage: bash -c "$(txn.sh)" jw CLUSTER ACTION [ARGS...]
#   begin OWNER LEASE   stdin: the plan (kept for whoever resumes the stop). Prints one of
#                         begun TOKEN          the stop is ours to run
#                         busy AGE OWNER       another owner runs it (its lease is fresh)
#                         stopped SINCE        the cluster is recorded stopped; no stop open
#                         resumed TOKEN        an open stop whose owner is gone, or one
#                                              that failed with no start since: ours now
#                       then, for "stopped" and "resumed", the journal as "show" prints it.
#   step TOKEN NODE began|ended [RC]   a node's step ("lost" when TOKEN is not the owner's)
#   beat TOKEN          the owner is alive (renews its lease)
#   finish TOKEN OUTCOME   stdin: one line of detail
#   show                the journal, "key value" lines
# Files: ~/.jobwaiter/clusters/CLUSTER.stop/ (0700) and CLUSTER.stop.lock beside it; the
# state file CLUSTER.state is control.sh's. Each change happens under an exclusive flock,
# held for an instant: the owner's liveness is its lease, renewed by "beat".
cluster=$1 action=$2
shift 2
umask 077
base=$HOME/.jobwaiter/clusters
d=$base/$cluster.stop
state=$base/$cluster.state
mkdir -p "$base" && chmod 700 "$HOME/.jobwaiter" "$base" 2>/dev/null
exec 9>>"$d.lock"
flock -x 9
now=$(date +%s.%N)

first() { line=; IFS= read -r line < "$1" 2>/dev/null; :; }
# ns TIME: "<seconds>[.<fraction>]" as integer nanoseconds (bash arithmetic; no awk needed).
ns() {
  local s=${1%%.*} f=
  [ "$s" = "$1" ] || f=${1#*.}
  f=${f}000000000
  case $s$f in *[!0-9]*|'') echo 0; return ;; esac
  echo $(( 10#$s * 1000000000 + 10#${f:0:9} ))
}
# since NS: seconds from then to now, one decimal.
since() { local d=$(( $(ns "$now") - $1 )); printf '%d.%d' $((d / 1000000000)) $((d % 1000000000 / 100000000)); }

show() {
  [ -f "$d/token" ] || { [ -f "$state" ] && state_lines; return 0; }
  first "$d/token"; printf 'token %s\n' "$line"
  local f key
  for key in owner begun lease outcome detail; do
    [ -f "$d/$key" ] && { first "$d/$key"; printf '%s %s\n' "$key" "$line"; }
  done
  first "$d/beat"
  printf 'age %s\n' "$(since "$(ns "${line:-0}")")"
  for f in "$d"/began.* "$d"/ended.*; do
    [ -f "$f" ] || continue
    first "$f"; key=${f##*/}; printf '%s %s %s\n' "${key%%.*}" "${key#*.}" "$line"
  done
  [ -f "$d/plan.json" ] && { first "$d/plan.json"; printf 'plan %s\n' "$line"; }
  state_lines
}

state_lines() {
  [ -f "$state" ] || return 0
  first "$state"; printf 'state %s\n' "$line"
  printf 'state_since %s\n' "$(stat -c %Y "$state" 2>/dev/null)"
}

owns() {
  local token
  [ -f "$d/token" ] && { first "$d/token"; token=$line; }
  [ -n "${token-}" ] && [ "$token" = "$1" ] && [ ! -f "$d/outcome" ]
}

case $action in
  begin)
    owner=$1 lease=$2
    if [ -f "$d/token" ] && [ ! -f "$d/outcome" ]; then
      first "$d/beat"; beat=$(ns "${line:-0}"); first "$d/lease"; held=$(ns "${line:-30}")
      age=$(since "$beat")
      if [ $(( $(ns "$now") - beat )) -lt "$held" ]; then
        first "$d/owner"; echo "busy $age $line"; exit 0
      fi
      # The owner is gone (killed, its host powered off): the stop is taken over, its
      # journal kept, so that what ran is never run blindly again nor reported unrun.
      token=$(cat /proc/sys/kernel/random/uuid)
      printf '%s\n' "$token" > "$d/token"
      printf '%s\n' "$owner" > "$d/owner"
      printf '%s\n' "$lease" > "$d/lease"
      printf '%s\n' "$now" > "$d/beat"
      echo "resumed $token"
      show
      exit 0
    fi
    first "$state"
    if [ "$line" = stopped ]; then
      echo "stopped $(stat -c %Y "$state" 2>/dev/null)"
      show
      exit 0
    fi
    token=$(cat /proc/sys/kernel/random/uuid)
    # A stop that failed or was cut off, with no start since: this one goes on from it
    # (what stopped is not run again); otherwise it starts anew.
    first "$d/outcome"; last=${line%% *} ended=${line#* }
    started=$(stat -c %Y "$state" 2>/dev/null || echo 0)
    if [ -n "$last" ] && [ "$last" != done ] \
       && [ "$(ns "$ended")" -ge "$(ns "$started")" ]; then
      rm -f "$d/outcome" "$d/detail"
      cat > "$d/plan.json"
      printf '%s\n' "$owner" > "$d/owner"
      printf '%s\n' "$lease" > "$d/lease"
      printf '%s\n' "$now" > "$d/beat"
      printf '%s\n' "$token" > "$d/token"
      echo "resumed $token"
      show
      exit 0
    fi
    rm -rf "$d" && mkdir -m 700 "$d" || exit 1
    cat > "$d/plan.json"
    printf '%s\n' "$owner" > "$d/owner"
    printf '%s\n' "$lease" > "$d/lease"
    printf '%s\n' "$now" > "$d/begun"
    printf '%s\n' "$now" > "$d/beat"
    printf '%s\n' "$token" > "$d/token"
    echo "begun $token" ;;
  step)
    token=$1 node=${2//[^A-Za-z0-9._:@-]/_} what=$3 rc=${4-}
    owns "$token" || { echo lost; exit 0; }
    case $what in
      began) printf '%s\n' "$now" > "$d/began.$node" ;;
      ended) printf '%s %s\n' "$rc" "$now" > "$d/ended.$node" ;;
      *) exit 2 ;;
    esac
    printf '%s\n' "$now" > "$d/beat"
    echo ok ;;
  beat)
    owns "$1" || { echo lost; exit 0; }
    printf '%s\n' "$now" > "$d/beat"
    echo ok ;;
  finish)
    token=$1 outcome=$2
    owns "$token" || { echo lost; exit 0; }
    IFS= read -r detail || :
    printf '%s\n' "$detail" > "$d/detail"
    printf '%s %s\n' "$outcome" "$now" > "$d/outcome"
    echo ok ;;
  show) show ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
