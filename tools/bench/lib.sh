# SPDX-License-Identifier: GPL-2.0
# The workloads of make bench, shared by tools/bench/run (in the guest) and
# tools/bench/fanotify (on the host). The caller sets $disk (a scratch
# directory) and defines say().

# Every file of DIR read whole, in order: MiB/s. fio cannot do this one:
# it skips files smaller than its block size, and these are 0-12 KiB.
read_tree()
{
	local dir=$1 bytes t0 t1
	bytes=$(find "$dir" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
	t0=$(date +%s%N)
	find "$dir" -type f -print0 | xargs -0 cat > /dev/null
	t1=$(date +%s%N)
	awk -v b="$bytes" -v ns=$((t1 - t0)) \
		'BEGIN { printf "%.1f %d\n", b / 1048576 / (ns / 1e9), ns / 1e6 }'
}

# fio WORKLOAD DIR: prints "MiB/s milliseconds" of one cold or warm run.
run_fio()
{
	local workload=$1 dir=$2 job=$disk/job.fio json=$disk/fio.json

	if [ "$workload" = seq-small ]; then
		read_tree "$dir/small"
		return
	fi
	{
		echo "[global]"
		echo "ioengine=psync"
		echo "invalidate=1"
		echo "allow_file_create=0"
		echo "group_reporting=1"
		case $workload in
		seq-64m)
			echo "filename=$dir/big/file-64m"
			echo "rw=read"
			echo "bs=1M" ;;
		rand4k-64m)
			echo "filename=$dir/big/file-64m"
			echo "rw=randread"
			echo "bs=4k"
			echo "io_size=8m" ;;
		rand4k-small)
			echo "opendir=$dir/small"
			echo "openfiles=64"
			echo "rw=randread"
			echo "bs=4k"
			echo "io_size=4m" ;;
		esac
		# Two jobs with their own seeds: they read different blocks.
		case $workload in
		rand*) printf '[r1]\nrandseed=1\n[r2]\nrandseed=2\n' ;;
		*) printf '[r1]\n' ;;
		esac
	} > "$job"
	fio --readonly --output-format=json --output="$json" "$job" > /dev/null 2>&1 ||
		{ say "fio $workload in $dir failed" >&2; echo "0 0"; return; }
	python3 -c '
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text[text.index("{"):])	# fio may put notes before it
r = [j["read"] for j in d["jobs"]]
print("%.1f %d" % (sum(x["bw_bytes"] for x in r) / 1048576,
                   max(x["runtime"] for x in r)))' "$json"
}

