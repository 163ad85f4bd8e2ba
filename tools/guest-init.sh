# SPDX-License-Identifier: GPL-2.0
#
# The body of the test guests' PID 1 (see guest_write_init in guest-lib.sh,
# which puts the run's variables before it). Runs as bash, not on its own.

# Every fork+exec costs ~0.1 s in UML: builtins wherever possible.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The kernel got this far: a boot that dies before it may be booted again.
: > "$scratch/init-started"

fail()
{
	echo "guest-init: error: $*"
	dmesg > "$scratch/dmesg" 2>/dev/null
	exec "$helper"
}

# stdin/stdout are the console (fd 1 of the UML process, or qemu's virtio
# console): no \n -> \r\n.
stty -opost 2>/dev/null
# /proc first: until it is mounted, /etc/mtab (a link into /proc) is the
# host's, seen through the root file system, and mount -a would skip every
# file system the host has mounted.
mount -t proc proc /proc || fail "mounting /proc failed"
mount -a -T "$scratch/fstab" || fail "mounting the guest's file systems failed"
cp -a "$scratch/devlinks/." /dev/ || fail "creating /dev/fd and co failed"
# The cgroup v2 hierarchy where a systemd host has it: runc (ctr run) needs
# it, and a kernel without cgroup2 simply has none.
if grep -qw cgroup2 /proc/filesystems; then
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "mounting cgroup2 on /sys/fs/cgroup failed"
fi
[ -z "$guest_tmp" ] || mkdir -m 1777 "$guest_tmp" || fail "cannot create $guest_tmp"
echo "$host_name" > /proc/sys/kernel/hostname
ip link set lo up || fail "ip link set lo up failed"

# The kernel log as it comes (hostfs and 9p write through to the host file), so
# that it survives a panic.
dmesg -w > "$scratch/dmesg" 2>/dev/null &
dmesg_pid=$!

cd "$cwd" || fail "cannot cd to $cwd"
# The script writes into a pipe (not the console tty, so no pagers, colours
# or \r), which cat copies to the console as it comes.
exec 3> >(exec cat)
cat_pid=$!
(
	exec 3>&-
	exec env -i "${guest_env[@]}" "$script" "${args[@]}"
) </dev/null >&3 2>&3 &
script_pid=$!
exec 3>&-
wait "$script_pid"
rc=$?

# Whatever the script left running could keep the pipe open: end it.
leftovers()
{
	local d p
	pids=()
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		case " 1 $$ $cat_pid $dmesg_pid " in *" $p "*) continue ;; esac
		[ -e "$d/exe" ] || continue	# kernel thread
		pids+=("$p")
	done
}
leftovers
if [ ${#pids[@]} -gt 0 ]; then
	names=
	for p in "${pids[@]}"; do
		read -r comm < "/proc/$p/comm" 2>/dev/null
		names+=" $p(${comm:-?})"
	done
	echo "# guest: killing what the script left running:$names"
	kill -TERM "${pids[@]}" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		leftovers
		[ ${#pids[@]} -gt 0 ] || break
		sleep 0.1
	done
	[ ${#pids[@]} -eq 0 ] || kill -KILL "${pids[@]}" 2>/dev/null
fi
for ((i = 0; i < 50; i++)); do
	kill -0 "$cat_pid" 2>/dev/null || break
	sleep 0.1
done
kill "$cat_pid" 2>/dev/null
wait "$cat_pid" 2>/dev/null

kill "$dmesg_pid" 2>/dev/null
wait "$dmesg_pid" 2>/dev/null
dmesg > "$scratch/dmesg" 2>/dev/null
bad=()
while IFS= read -r line; do
	[ "$show_dmesg" = 1 ] && echo "# dmesg: $line"
	case $line in
	*BUG:*|*WARNING:*|*Oops*|*"Kernel panic"*|*"general protection"*)
		bad+=("$line") ;;
	esac
done < "$scratch/dmesg"
if [ ${#bad[@]} -gt 0 ]; then
	printf '# kernel: %s\n' "${bad[@]}"
	[ "$rc" != 0 ] || rc=1
fi
echo "$rc" > "$scratch/status"
# Not even the kernel's "reboot: Power down" (KERN_EMERG) on our stdout.
echo 0 > /proc/sys/kernel/printk
exec "$helper"
