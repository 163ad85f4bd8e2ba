# SPDX-License-Identifier: GPL-2.0
#
# What the test-kernel runners (tools/uml/run, tools/qemu/run) share: the
# SCRIPT checks, the power-off helper, the scratch directory with its ext4
# cache disk, the guest's init (PID 1), and reading the script's status back.
# Sourced, not run; the runner sets $prog and $here first.

die() { echo "$prog: error: $*" >&2; exit 125; }
usage_error() { echo "$prog: $*" >&2; echo "try '$prog --help'" >&2; exit 2; }

# Paths the guest cannot see as on the host: its own /proc, /sys, /dev (and
# /run, which gets a tmpfs unless something we need lives there).
guest_hidden() { [[ $1 =~ ^/(proc|sys|dev)(/|$) ]]; }

guest_check_sizes()
{
	[[ $timeout =~ ^[1-9][0-9]*$ ]] || usage_error "bad timeout: $timeout (whole seconds)"
	[[ $disk_size =~ ^[1-9][0-9]*[KMGT]?$ ]] || usage_error "bad disk size: $disk_size (e.g. 2G)"
	[[ $mem =~ ^[1-9][0-9]*[KMG]?$ ]] || usage_error "bad memory size: $mem (e.g. 2G)"
	[ "$show_dmesg" = 1 ] || show_dmesg=0
}

# Sets $script to the absolute path of $1, or exits 126/127.
guest_find_script()
{
	script=$1
	if [[ $script != */* && ! -e $script ]]; then
		p=$(type -P -- "$script") && script=$p
	fi
	if [ ! -e "$script" ]; then
		echo "$prog: error: $script: no such file" >&2
		exit 127
	fi
	if [ ! -f "$script" ] || [ ! -x "$script" ]; then
		echo "$prog: error: $script: not an executable file (chmod +x it?)" >&2
		exit 126
	fi
	[[ $script == /* ]] || script=$PWD/$script
	guest_hidden "$script" && die "$script: not visible in the guest (under /proc, /sys or /dev)"
	guest_hidden "$PWD" && die "working directory $PWD is not visible in the guest"
}

# Sets $helper: the power-off helper, built into directory $1. It is keyed
# by the hash of its source, so an edited poweroff.c gets rebuilt and
# concurrent runs never see a half-written binary.
guest_build_helper()
{
	local dir=$1 src=$here/../uml/poweroff.c hash tmp cc=${CC:-cc}

	hash=$(sha256sum "$src" | cut -c1-12) || die "cannot read $src"
	helper=$dir/poweroff-$hash
	[ -x "$helper" ] && return
	command -v "$cc" >/dev/null || die "no C compiler ($cc) to build $src"
	tmp=$(mktemp "$dir/.poweroff.XXXXXX") || die "cannot write to $dir"
	if ! "$cc" -O2 -Wall -o "$tmp" "$src"; then
		rm -f "$tmp"
		die "compiling $src failed"
	fi
	mv -f "$tmp" "$helper"
}

# Sets $scratch (a new directory for this run) and $img (its ext4 disk).
guest_make_scratch()
{
	local mkfs tmpbase

	mkfs=$(PATH=$PATH:/usr/sbin:/sbin type -P mkfs.ext4) ||
		die "mkfs.ext4 not found: install e2fsprogs"
	tmpbase=${TMPDIR:-/tmp}
	if guest_hidden "$tmpbase" || [[ $tmpbase =~ ^/run(/|$) ]]; then
		tmpbase=/tmp
	fi
	scratch=$(mktemp -d "$tmpbase/$prog.XXXXXX") ||
		die "cannot create a scratch directory in $tmpbase"
	scratch=$(cd "$scratch" && pwd -P)
	[[ $scratch =~ ^[^[:space:]]+$ ]] ||
		die "scratch path '$scratch' contains white space (set TMPDIR)"
	img=$scratch/cache.img
	mkdir "$scratch/disk" || die "cannot create $scratch/disk"
	truncate -s "$disk_size" "$img" || die "cannot create $img"
	"$mkfs" -q -F -O ^has_journal "$img" || die "mkfs.ext4 of $img failed"
}

guest_remove_scratch()
{
	if [ "$keep" = 1 ]; then
		echo "$prog: kept $scratch" >&2
	else
		rm -rf "$scratch"
	fi
}

# Writes $scratch/init, the guest's PID 1, which runs $script "$@" with the
# cache disk $1 (the guest's device) mounted at $GUEST_DISK, as guest
# $2 (uml, qemu-kvm, qemu-tcg).
guest_write_init()
{
	local disk_dev=$1 kind=$2 run_hidden p name
	local guest_env guest_tmp init=$scratch/init

	# Mounts in one mount(8) process (every exec costs ~0.1 s in UML).
	# Host /run gets a tmpfs over it (pid files, sockets of test servers)
	# unless something we need lives there.
	{
		echo "sysfs /sys sysfs defaults 0 0"
		echo "devtmpfs /dev devtmpfs defaults 0 0"
		echo "devpts /dev/pts devpts ptmxmode=0666,X-mount.mkdir 0 0"
		echo "tmpfs /dev/shm tmpfs mode=1777,X-mount.mkdir 0 0"
		run_hidden=1
		for p in "$script" "$PWD" "$scratch" "$helper"; do
			[[ $p =~ ^/run(/|$) ]] && run_hidden=0
		done
		[ "$run_hidden" = 0 ] || echo "tmpfs /run tmpfs mode=755 0 0"
		echo "$disk_dev $scratch/disk ext4 defaults 0 0"
	} > "$scratch/fstab"
	# devtmpfs has no /dev/fd, /dev/stdin, ...: copied in by one cp(1).
	mkdir "$scratch/devlinks"
	ln -s /proc/self/fd "$scratch/devlinks/fd"
	ln -s /proc/self/fd/0 "$scratch/devlinks/stdin"
	ln -s /proc/self/fd/1 "$scratch/devlinks/stdout"
	ln -s /proc/self/fd/2 "$scratch/devlinks/stderr"

	guest_env=(
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		"HOME=$HOME" USER=root LOGNAME=root
		"GUEST_DISK=$scratch/disk" "GUEST_SCRATCH=$scratch"
		"GUEST_KIND=$kind"
	)
	while IFS= read -r name; do
		case $name in
		FSCACHED_*|TEST_*|HARNESS_*) guest_env+=("$name=${!name}") ;;
		esac
	done < <(compgen -e)
	# Temporary files on the guest's own disk, not on the host's /tmp
	# through 9p: writes to one file from several processes (a test and
	# its children, a log and tail -f) left holes of NULs there (6.12,
	# cache=mmap).
	guest_tmp=
	if [ "$kind" != uml ]; then
		guest_tmp=$scratch/disk/tmp
		guest_env+=("TMPDIR=$guest_tmp")
	fi

	{
		echo '#!/bin/bash'
		echo "# PID 1 of the $kind guest, generated by $prog."
		printf 'scratch=%q\n' "$scratch"
		printf 'script=%q\n' "$script"
		printf 'args=(' ; [ ${#script_args[@]} -eq 0 ] || printf ' %q' "${script_args[@]}"; echo ' )'
		printf 'guest_env=('; printf ' %q' "${guest_env[@]}"; echo ' )'
		printf 'cwd=%q\n' "$PWD"
		printf 'helper=%q\n' "$helper"
		printf 'host_name=%q\n' "$(cat /proc/sys/kernel/hostname 2>/dev/null || echo guest)"
		echo "show_dmesg=$show_dmesg"
		printf 'guest_tmp=%q\n' "$guest_tmp"
		cat "$here/../guest-init.sh"
	} > "$init" || die "cannot write $init"
	chmod +x "$init"
}

dmesg_tail()
{
	[ -s "$scratch/dmesg" ] || return 0
	echo "$prog: last kernel messages:" >&2
	tail -n 15 "$scratch/dmesg" | sed 's/^/# dmesg: /' >&2
}

# Exits with the script's status, as the guest recorded it.
guest_exit_status()
{
	local rc

	if [ "$timed_out" = 1 ]; then
		echo "$prog: timed out after $timeout s" >&2
		dmesg_tail
		exit 124
	fi
	if [ ! -s "$scratch/status" ]; then
		echo "$prog: error: the guest ended without recording the script's exit status (kernel panic or init crash?)" >&2
		dmesg_tail
		exit 125
	fi
	rc=$(<"$scratch/status")
	[[ $rc =~ ^[0-9]+$ ]] || die "bad exit status '$rc' in $scratch/status"
	exit "$rc"
}
