# Who is at the head right now, one line each (autostop's "nobody is using it"):
#   tmux CLIENT_TTY SESSION     a client attached to one of the user's tmux servers
#   screen NAME                 an attached screen session of the user
#   login USER TTY              an interactive (terminal) login: sshd's session process
#                               "sshd: USER@pts/N" (any user), or utmp (who)
# Usage: bash -c "$(present.sh)" jw
for sock in "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)"/*; do
  [ -S "$sock" ] || continue
  tmux -S "$sock" list-clients -F 'tmux #{client_tty} #{session_name}' 2>/dev/null
done
screen -ls 2>/dev/null | sed -n 's/^[[:space:]]*[0-9]*\.\([^[:space:]]*\)[[:space:]].*(Attached).*/screen \1/p'
# OpenSSH names a session's process "sshd: USER@pts/N" (9.8+: "sshd-session: ..."); a
# command run without a terminal is "USER@notty", and is not a login.
for f in /proc/[0-9]*/cmdline; do
  IFS= read -r -d '' title < "$f" 2>/dev/null || continue
  case $title in
    "sshd: "*@pts/*|"sshd-session: "*@pts/*)
      who=${title#*: }; printf 'login %s %s\n' "${who%%@*}" "${who#*@}" ;;
  esac
done
who 2>/dev/null | awk '{print "login", $1, $2}'
exit 0
