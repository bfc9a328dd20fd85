# Put the script (on stdin) in ~/user/jobs/NAME.  Usage: bash -c "$(upload.sh)" jw NAME
# The file is replaced atomically: a job still reading an older copy keeps its own inode.
# Private (0600), like the records: a script may hold what its author would not share.
set -e
umask 077
mkdir -p user/jobs user/logs
t=$(mktemp "user/jobs/.upload.XXXXXX")
trap 'rm -f "$t"' EXIT
cat > "$t"
mv -f "$t" "user/jobs/$1"
trap - EXIT
