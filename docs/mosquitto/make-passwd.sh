#!/bin/sh
# Makes /etc/mosquitto/dorvakt.passwd (the password_file of mosquitto.conf) with one user per role.
# Each password is read from a file, never typed on the command line of a shared shell history:
#   sh make-passwd.sh /root/dorvakt.pw /root/nvr-agent.pw /root/homeassistant.pw [/root/frigate.pw]
# (the fourth, for Frigate's own user, when Dørvakt switches Frigate's recording: nvr.frigate_recording).
# The controller's password file is then named in its config (mqtt.password: {file: …}), the agent's in
# its own (mqtt.password_file). Mosquitto stores only salted hashes.
set -eu
out=/etc/mosquitto/dorvakt.passwd
umask 077
rm -f "$out.new"
touch "$out.new"
mosquitto_passwd -b "$out.new" dorvakt "$(cat "$1")"
mosquitto_passwd -b "$out.new" nvr-agent "$(cat "$2")"
mosquitto_passwd -b "$out.new" homeassistant "$(cat "$3")"
if [ $# -ge 4 ]; then mosquitto_passwd -b "$out.new" frigate "$(cat "$4")"; fi
chown mosquitto: "$out.new" 2>/dev/null || true
mv "$out.new" "$out"
