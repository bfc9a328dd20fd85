# Slurm client calls for the slurm runtime, run on the head. Usage:
#   bash -c "$(probe.sh)" jw SLURM_CONF BIN_DIR ACTION [ARGS...]
# SLURM_CONF and BIN_DIR may be empty (the head's own). ACTION:
#   config            scontrol show config
#   ping              is the controller up (for jobwaiter start)
#   poll RECORD       "uid N", "now EPOCH", "captured ID...", "squeue RC", then squeue's JSON
#   history SOURCE SINCE  sacct lines of jobs that ended at or after SINCE (epoch seconds);
#                     SOURCE is jobcomp (the completion log, sacct -c) or accounting
set -u
conf=$1 bin=$2 action=$3
shift 3
[ -z "$conf" ] || export SLURM_CONF="$conf"
[ -z "$bin" ] || PATH="$bin:$PATH"
# Epoch seconds in every time sacct prints: no guessing at the head's time zone.
export SLURM_TIME_FORMAT=%s
command -v squeue >/dev/null || { echo "the Slurm client commands are not installed on the head" >&2; exit 127; }
case $action in
  config) exec scontrol show config ;;
  ping) scontrol ping && exec sinfo -h -o '%P %a %D %T' ;;
  poll)
    echo "uid $(id -u)"
    echo "now $(date +%s)"
    # Ids that submit --runtime slurm recorded for this job (none for other jobs).
    # "captured", then a space before each id: an id glued to the word would be lost.
    printf 'captured'
    if [ -f "$1" ]; then while read -r id || [ -n "$id" ]; do [ -z "$id" ] || printf ' %s' "$id"; done < "$1"; fi
    echo
    # 22.05 ignores filters with --json (it lists every job the controller holds); later
    # versions honour them, and --states=all keeps the ended jobs in the list.
    out=$(squeue --json --states=all 2>&1); rc=$?
    echo "squeue $rc"
    printf '%s\n' "$out" ;;
  history)
    source=$1 since=$2
    c=(); [ "$source" = jobcomp ] && c=(-c)
    start=$(date -d "@$since" +%Y-%m-%dT%H:%M:%S) || exit 2
    exec sacct "${c[@]}" -X -a -n -P -S "$start" -E now --format=JobID,JobName,UID,User,State,ExitCode,Submit,End ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
