# How many processes of a job still run (by the job's environment, see lib.sh).
# Usage: bash -c "$(lib.sh survivors.sh)" jw NAME     Prints "alive <n>".
echo "alive $(job_survivors "$1" | wc -l)"
