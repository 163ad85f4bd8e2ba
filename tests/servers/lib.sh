# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the test-server scripts in tests/servers/ (sourced, never
# run).  Every kind follows one contract:
#
#   tests/servers/KIND start WORKDIR [options]
#       start the server(s) in the background on 127.0.0.1 (free ports picked
#       here), wait until they answer ($FSCACHED_SERVER_START_S s at most, 120 by default), write WORKDIR/env
#       (KEY=VALUE lines, shell syntax), print the same lines, exit 0;
#       exit 1 with a message on failure, 77 if a program is missing.
#   tests/servers/KIND stop WORKDIR
#       kill everything start started, wait until it is gone, exit 0.
#
# The scripts also run in the user-mode-Linux test kernel, where every
# fork+exec costs about 0.1 s: waiting and polling use bash builtins only
# (/dev/tcp, read -t, /proc), never sleep(1) or repeated external commands.
#
# Each started process group is recorded in WORKDIR/pids/NAME as
# "PID STARTTIME" (STARTTIME from /proc/PID/stat, against pid reuse); stop
# kills those groups, and the groups of WORKDIR/*/pids (servers that a kind
# started through another kind, e.g. the registry's redirect nginx).

prog=${0##*/}
servers_dir=${BASH_SOURCE[0]%/*}
[ "$servers_dir" != "${BASH_SOURCE[0]}" ] || servers_dir=.
servers_dir=$(cd "$servers_dir" && pwd) || exit 1
python=/usr/bin/python3
# Ports for other kinds that this process picked (free_port).
_picked_ports=" "
# A pipe that nobody writes to: read -t on it is a builtin sleep.
_nap_fd=

die() { echo "$prog: error: $*" >&2; exit 1; }
missing() { echo "$prog: $*" >&2; exit 77; }
usage_error() { echo "$prog: $*" >&2; echo "${usage:-}" >&2; exit 1; }

# need PROGRAM DEBIAN-PACKAGE: exit 77 unless PROGRAM is in PATH (or the
# sbin directories, which a non-root PATH may lack).
need()
{
	PATH=$PATH:/usr/sbin:/sbin type -P "$1" >/dev/null ||
		missing "$1 not found: install the Debian package $2"
}

need_python_module()	# MODULE DEBIAN-PACKAGE
{
	[ -x "$python" ] || missing "$python not found: install the Debian package python3"
	[ -e "/usr/lib/python3/dist-packages/$1" ] || [ -e "/usr/lib/python3/dist-packages/$1.py" ] ||
		missing "python module $1 not found: install the Debian package $2"
}

nap()	# SECONDS (fractions allowed), without a sleep process
{
	[ -n "$_nap_fd" ] || exec {_nap_fd}<> <(:)
	read -rt "$1" -u "$_nap_fd" _ || true
}

now_us() { REPLY=${EPOCHREALTIME//[!0-9]/}; }

# free_port: REPLY = a TCP port below the ephemeral range that no socket of
# this machine (network namespace) uses now and that this process has not
# handed out yet.  Another process could still take it before the server
# binds it: the server's start fails then.
free_port()
{
	local used=" " sl addr low=32768 _ f port i
	for f in /proc/net/tcp /proc/net/tcp6; do
		[ -r "$f" ] || continue
		while read -r sl addr _; do
			[ "$sl" = sl ] && continue
			used+="$((16#${addr##*:})) "
		done < "$f"
	done
	if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
		read -r low _ < /proc/sys/net/ipv4/ip_local_port_range
	fi
	[ "$low" -gt 12000 ] || low=32768
	for ((i = 0; i < 1000; i++)); do
		port=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
		case "$used$_picked_ports" in
		*" $port "*) continue ;;
		esac
		_picked_ports+="$port "
		REPLY=$port
		return 0
	done
	die "no free TCP port found"
}

# proc_starttime PID: REPLY = the start time of PID (field 22 of its stat),
# empty if PID does not exist or is a zombie.
proc_starttime()
{
	local stat
	REPLY=
	{ read -r stat < "/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	[ "$1" != Z ] && [ "$1" != X ] || return 1
	REPLY=${20}
}

alive() { proc_starttime "$1"; }

# spawn WORKDIR NAME LOG COMMAND...: run COMMAND in the background in a
# process group of its own (stdin /dev/null, output to LOG), record it in
# WORKDIR/pids/NAME; SPAWNED_PID = its pid.
spawn()
{
	local workdir=$1 name=$2 log=$3
	shift 3
	[ -d "$workdir/pids" ] || mkdir -p "$workdir/pids" || die "cannot create $workdir/pids"
	set -m
	spawned "$@" </dev/null >>"$log" 2>&1 &
	SPAWNED_PID=$!
	set +m
	proc_starttime "$SPAWNED_PID" || REPLY=0
	echo "$SPAWNED_PID $REPLY" > "$workdir/pids/$name" ||
		die "cannot write $workdir/pids/$name"
}

# spawned COMMAND... (spawn's background subshell): close every inherited
# file descriptor but 0-2 (a caller that reads our stdout or another pipe to
# its end must not wait for the server), then exec COMMAND, or run it if it
# is a function.
spawned()
{
	local f fd
	for f in /proc/self/fd/*; do
		fd=${f##*/}
		[ "$fd" -gt 2 ] 2>/dev/null && exec {fd}>&-
	done
	if declare -F "$1" >/dev/null; then
		"$@"
		exit
	fi
	exec "$@"
}

# tcp_open PORT: true if something accepts connections on 127.0.0.1:PORT.
tcp_open()
{
	local fd
	{ exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	exec {fd}>&-
	return 0
}

# wait_port PORT PID LOG [TIMEOUT]: wait until 127.0.0.1:PORT accepts
# connections while PID lives.  0: it does; 3: PID exited and LOG says
# "address already in use" (someone took the port: the caller may retry on
# another one); 1: other failures, said on stderr with LOG's tail.
wait_port()
{
	local port=$1 pid=$2 log=$3 timeout=${4:-${FSCACHED_SERVER_START_S:-120}} deadline
	now_us
	deadline=$((REPLY + timeout * 1000000))
	while ! tcp_open "$port"; do
		if ! alive "$pid"; then
			log_mentions "$log" "address already in use" && return 3
			echo "$prog: error: the server (pid $pid) exited before listening on port $port; its log $log ends with:" >&2
			log_tail "$log"
			return 1
		fi
		now_us
		if [ "$REPLY" -gt "$deadline" ]; then
			echo "$prog: error: nothing listens on 127.0.0.1:$port after ${timeout} s; log $log ends with:" >&2
			log_tail "$log"
			return 1
		fi
		nap 0.05
	done
}

# probe_failed PID LOG MESSAGE: the port is open but a request did not get
# the answer of the server PID started by spawn: is the port someone else's?
# 3 (PID's process group stopped) if LOG says that the port was taken (PID
# gets 5 s to say so); else 1, with MESSAGE and LOG's tail on stderr.
probe_failed()
{
	local deadline
	now_us
	deadline=$((REPLY + 5000000))
	while :; do
		if log_mentions "$2" "address already in use"; then
			kill_groups "$1"
			return 3
		fi
		alive "$1" || break
		now_us
		[ "$REPLY" -lt "$deadline" ] || break
		nap 0.1
	done
	echo "$prog: error: $3" >&2
	log_tail "$2"
	return 1
}

# port_taken PORT LOG: the failure message after the last retry.
port_taken()
{
	echo "$prog: error: port $1 was taken by another process before the server could bind it, 3 times; log $2 ends with:" >&2
	log_tail "$2"
}

log_mentions()	# FILE TEXT: FILE has a line with TEXT (any case)
{
	local line text=${2,,}
	[ -r "$1" ] || return 1
	while IFS= read -r line || [ -n "$line" ]; do
		[[ ${line,,} == *"$text"* ]] && return 0
	done < "$1"
	return 1
}

# wait_file FILE PID LOG [TIMEOUT]: wait until FILE is non-empty while PID
# lives (servers that bind port 0 write their port there).
wait_file()
{
	local file=$1 pid=$2 log=$3 timeout=${4:-${FSCACHED_SERVER_START_S:-120}} deadline
	now_us
	deadline=$((REPLY + timeout * 1000000))
	until [ -s "$file" ]; do
		if ! alive "$pid"; then
			echo "$prog: error: the server (pid $pid) exited before it was ready; its log $log ends with:" >&2
			log_tail "$log"
			return 1
		fi
		now_us
		if [ "$REPLY" -gt "$deadline" ]; then
			echo "$prog: error: the server (pid $pid) was not ready after ${timeout} s; log $log ends with:" >&2
			log_tail "$log"
			return 1
		fi
		nap 0.05
	done
}

log_tail()	# FILE: its last 15 lines on stderr, without tail(1)
{
	local lines=() line i
	[ -r "$1" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		lines+=("$line")
	done < "$1"
	for ((i = ${#lines[@]} > 15 ? ${#lines[@]} - 15 : 0; i < ${#lines[@]}; i++)); do
		echo "  | ${lines[i]}" >&2
	done
}

# stop_groups WORKDIR: stop every process group recorded in WORKDIR/pids and
# WORKDIR/*/pids (kill_groups), remove the records.  Groups whose leader pid
# now names another process are left alone.
stop_groups()
{
	local workdir=$1 f pid start pids=() files=()
	for f in "$workdir"/pids/* "$workdir"/*/pids/*; do
		[ -f "$f" ] || continue
		files+=("$f")
		read -r pid start < "$f" 2>/dev/null || continue
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if proc_starttime "$pid" && [ "$REPLY" != "$start" ]; then
			continue	# pid reused: not ours
		fi
		pids+=("$pid")
	done
	kill_groups "${pids[@]}"
	[ ${#files[@]} -eq 0 ] || rm -f "${files[@]}"
}

# kill_groups PGID...: SIGTERM to each process group, wait until all are gone
# (SIGKILL after 10 s).
kill_groups()
{
	local pid pids=() left deadline killed=0
	for pid; do
		group_alive "$pid" || continue
		pids+=("$pid")
		kill -TERM -- "-$pid" 2>/dev/null
	done
	now_us
	deadline=$((REPLY + 10000000))
	while [ ${#pids[@]} -gt 0 ]; do
		left=()
		for pid in "${pids[@]}"; do
			group_alive "$pid" && left+=("$pid")
		done
		pids=("${left[@]}")
		[ ${#pids[@]} -gt 0 ] || break
		now_us
		if [ "$REPLY" -gt "$deadline" ]; then
			[ "$killed" = 0 ] || {
				echo "$prog: warning: process groups ${pids[*]} survived SIGKILL" >&2
				break
			}
			echo "$prog: warning: process groups ${pids[*]} ignored SIGTERM for 10 s: SIGKILL" >&2
			for pid in "${pids[@]}"; do
				kill -KILL -- "-$pid" 2>/dev/null
			done
			killed=1
			deadline=$((REPLY + 5000000))
		fi
		nap 0.02
	done
}

# group_alive PGID: true while a process of group PGID is still running
# (zombies do not count: their parent may be slow to reap them).
group_alive()
{
	local pgid=$1 d stat
	kill -0 -- "-$pgid" 2>/dev/null || return 1
	alive "$pgid" && return 0	# the leader still runs
	for d in /proc/[0-9]*; do
		{ read -r stat < "$d/stat"; } 2>/dev/null || continue
		stat=${stat##*) }
		# shellcheck disable=SC2086
		set -- $stat
		[ "$3" = "$pgid" ] && [ "$1" != Z ] && [ "$1" != X ] && return 0
	done
	return 1
}

# env_value VALUE: REPLY = VALUE quoted for a shell when it needs quoting.
env_value()
{
	if [[ $1 =~ ^[A-Za-z0-9_./:@%+=,-]*$ ]]; then
		REPLY=$1
	else
		REPLY="'${1//\'/\'\\\'\'}'"
	fi
}

# write_env WORKDIR KEY VALUE [KEY VALUE...]: WORKDIR/env and stdout.
write_env()
{
	local workdir=$1 out=
	shift
	while [ $# -ge 2 ]; do
		env_value "$2"
		out+="$1=$REPLY"$'\n'
		shift 2
	done
	printf '%s' "$out" > "$workdir/env" || die "cannot write $workdir/env"
	printf '%s' "$out"
}

# read_env FILE KEY: REPLY = the value of KEY in FILE (as written by write_env).
read_env()
{
	local line
	REPLY=
	while IFS= read -r line; do
		[[ $line == "$2="* ]] || continue
		REPLY=${line#*=}
		if [[ $REPLY == \'*\' ]]; then
			REPLY=${REPLY:1:-1}
			REPLY=${REPLY//\'\\\'\'/\'}
		fi
		return 0
	done < "$1"
	return 1
}

# yaml_str VALUE: REPLY = VALUE as a single-quoted YAML scalar.
yaml_str() { REPLY="'${1//\'/\'\'}'"; }

# make_certs DIR [CADIR]: DIR/server.pem + DIR/server.key for IP:127.0.0.1
# and localhost, signed by the CA CADIR/ca.pem + CADIR/ca.key (made when
# missing; CADIR defaults to DIR).  EC P-256 keys: quick to make.
make_certs()
{
	local dir=$1 cadir=${2:-$1}
	need openssl openssl
	if [ ! -s "$cadir/ca.pem" ] || [ ! -s "$cadir/ca.key" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$cadir/ca.key" -out "$cadir/ca.pem" -days 3650 \
			-subj "/CN=fscached test CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign 2>"$dir/openssl.log" ||
			{ log_tail "$dir/openssl.log"; die "openssl could not make a CA in $cadir"; }
	fi
	openssl req -x509 -CA "$cadir/ca.pem" -CAkey "$cadir/ca.key" \
		-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/server.key" -out "$dir/server.pem" -days 3650 \
		-subj "/CN=127.0.0.1" \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost \
		-addext basicConstraints=critical,CA:FALSE \
		-addext extendedKeyUsage=serverAuth 2>"$dir/openssl.log" ||
		{ log_tail "$dir/openssl.log"; die "openssl could not make a server certificate in $dir"; }
}

# check_workdir WORKDIR: create it; refuse when something recorded there runs.
check_workdir()
{
	local f pid start
	[ -d "$1" ] || mkdir -p "$1" || die "cannot create $1"
	for f in "$1"/pids/* "$1"/*/pids/*; do
		[ -f "$f" ] || continue
		read -r pid start < "$f" 2>/dev/null || continue
		if proc_starttime "$pid" && [ "$REPLY" = "$start" ]; then
			die "$1 has running servers (pid $pid): '$prog stop $1' first"
		fi
	done
	[ ! -e "$1/env" ] || rm -f "$1/env"
}

# main "$@": dispatch "start WORKDIR ..." / "stop WORKDIR" to the kind's
# start_kind / stop_kind functions (stop_kind defaults to stop_groups).
main()
{
	local cmd=${1:-} workdir=${2:-}
	case $cmd in
	start|stop) ;;
	-h|--help) echo "${usage:-}"; exit 0 ;;
	*) usage_error "unknown command: ${cmd:-(none)}" ;;
	esac
	[ -n "$workdir" ] || usage_error "no WORKDIR given"
	[[ $workdir == /* ]] || workdir=$PWD/$workdir
	shift 2
	if [ "$cmd" = stop ]; then
		[ -d "$workdir" ] || exit 0
		if declare -F stop_kind >/dev/null; then
			stop_kind "$workdir"
		else
			stop_groups "$workdir"
		fi
		exit 0
	fi
	check_workdir "$workdir"
	start_failed_workdir=$workdir
	trap start_failed EXIT
	start_kind "$workdir" "$@"
	trap - EXIT
	exit 0
}

start_failed()
{
	local rc=$?
	[ "$rc" != 0 ] || rc=1
	if declare -F stop_kind >/dev/null; then
		stop_kind "$start_failed_workdir"
	else
		stop_groups "$start_failed_workdir"
	fi
	exit "$rc"
}
