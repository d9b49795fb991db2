#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Latency of virtwire's libvirt network hook, exec to exit, as libvirt runs
# it: `virtwire hook network --state-dir DIR bench started begin -` with the
# network's <hookData> on stdin (no newline at the end) and the environment
# libvirtd 9 gives its hooks (LC_ALL=C, PATH, HOME). Two networks (bench/gen-network.py
# --hookdata: forward mode='open', virtwire mode nat, the uuid and bridge MAC
# of a live network):
#
#   3       a typical network, 3 forwards        (target: p50 < 5 ms)
#   10000   one network with 10,000 forwards
#
# Each has a network namespace of its own (vwt-bench-hook-PID-N) with the
# bridge vwb-bench as libvirt leaves it before `started` (its MAC, STP off,
# forward delay 0, 198.18.0.1/16, up), and a state directory of its own.
#
#   first    the applying run: empty ruleset and state dir before it
#            (FIRST_RUNS resets and runs, default 5)
#   repeat   `started` of the network already applied: nothing to change
#            (RUNS, default 1000). (libvirtd 9.0 does not repeat `started`
#            for running networks at its own start; the daemon hook below
#            re-asserts them through the same apply.)
#   spaced   the same, 1.05 s apart (SPACED_RUNS, default 5): a repeat
#            after an idle second, as real hook calls are (caches cold),
#            which the tight loop is not
#   3-script the typical network's repeat through the entry that
#            `virtwire install-hooks` writes (#!/bin/sh, exec virtwire hook
#            …): what libvirt really executes (repeat and spaced only)
#   floor-true, floor-version   /bin/true and `virtwire --version` in the
#            same loop: the cost of any exec here, and of loading virtwire
#            and its libraries (repeat only)
#   floor-libs  a program that does nothing, linked with the libraries
#            every virtwire call loads (GLib, libnl-3, libnftnl, libmnl):
#            what loading them alone costs (built here with cc and
#            pkg-config; skipped without them)
#   daemon   `virtwire hook daemon --state-dir DIR - start - start`, stdin
#            empty: what libvirtd runs at its own start (and, as `reload
#            begin SIGHUP`, at SIGHUP); virtwire re-asserts every recorded
#            network (DAEMON_RUNS, default 200, both networks in turn)
#   cycle    the typical network's hooks of one `virsh net-start` and
#            `net-destroy`, in a namespace of their own
#            (vwt-bench-hook-PID-cycle): `start` (the full check, libvirt's
#            schema included; nothing applied), `started` (applies: the
#            network is new every time) and `stopped` (tears it down), in
#            turn (CYCLE_RUNS, default 200)
#
# Timing: a small C program (compiled here) forks, the child enters the
# case's namespace, opens stdin, reads CLOCK_MONOTONIC and execs; the parent
# reads the clock when wait4 returns. Rounds are interleaved (each round runs
# every case once), so a slow spell of the machine hits all cases alike. The
# loop stops after MAX_SECONDS (default 200) whatever the count; the runs done
# are reported. Every run must exit 0 with nothing on stderr.
#
#   sudo bench/hook.sh        (RUNS=1000 FIRST_RUNS=5 SPACED_RUNS=5 CYCLE_RUNS=200 DAEMON_RUNS=200
#                              MAX_SECONDS=200
#                              HOOK_SIZES="3 10000"; VW_BIN=...;
#                              VW_BIN_B=... VW_BIN_B_LABEL=...: another build
#                              in the same rounds, see below)
. "$(dirname "$0")/lib.sh"

need_root
need_tools cc ip nft nsenter python3
need_virtwire
bench_start

T=$BENCH_TMP
RUNS=${RUNS:-1000}
FIRST_RUNS=${FIRST_RUNS:-5}
SPACED_RUNS=${SPACED_RUNS:-5}
CYCLE_RUNS=${CYCLE_RUNS:-200}
DAEMON_RUNS=${DAEMON_RUNS:-200}
MAX_SECONDS=${MAX_SECONDS:-200}
HOOK_SIZES=${HOOK_SIZES:-"3 10000"}
record settings "RUNS=$RUNS FIRST_RUNS=$FIRST_RUNS SPACED_RUNS=$SPACED_RUNS CYCLE_RUNS=$CYCLE_RUNS DAEMON_RUNS=$DAEMON_RUNS MAX_SECONDS=$MAX_SECONDS HOOK_SIZES=$HOOK_SIZES"

# The state directories on a tmpfs, as /run/virtwire is on a normal host
# (here /tmp may be a disk, where the fsync of a state rewrite costs more).
# STATE_BASE=DIR puts them elsewhere.
if [ -z "${STATE_BASE:-}" ]; then
	if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
		STATE_BASE=/dev/shm
	else
		STATE_BASE=$T
	fi
fi
STATES=$(mktemp -d "$STATE_BASE/vwt-bench-hook-$$.XXXXXX") || die "cannot create a state directory in $STATE_BASE"
vwt_cleanup_add 'rm -rf "$STATES"'
record state-dirs "$STATES ($(stat -f -c %T "$STATES"))"

cat >"$T/hooktimer.c" <<'EOF'
/* hooktimer LABEL RUNS PAUSE_MS MAX_SECONDS OUTDIR CASEFILE...
 * CASEFILE: name, netns path, stdin file, stderr file, then argv, one a line.
 * RUNS rounds (PAUSE_MS before each), every case once a round; appends
 * "LABEL<TAB>wall_us<TAB>cpu_us" to OUTDIR/NAME.tsv. Exit 1 at the first
 * run that fails or writes to stderr. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct tcase { char *name, *netns, *in, *err; char *argv[32]; FILE *out; };

/* What libvirtd 9 passes to its hooks (its log: "About to run LC_ALL=C PATH=… HOME=…"). */
static char *env[] = { "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void load(struct tcase *c, const char *path, const char *outdir)
{
	FILE *f = fopen(path, "r");
	char line[4096], fn[4096];
	int n = 0;

	if (!f) { perror(path); exit(2); }
	while (fgets(line, sizeof line, f) && n < 35) {
		line[strcspn(line, "\n")] = 0;
		char *s = strdup(line);
		switch (n) {
		case 0: c->name = s; break;
		case 1: c->netns = s; break;
		case 2: c->in = s; break;
		case 3: c->err = s; break;
		default: c->argv[n - 4] = s;
		}
		n++;
	}
	fclose(f);
	snprintf(fn, sizeof fn, "%s/%s.tsv", outdir, c->name);
	c->out = fopen(fn, "a");
	if (n < 5 || !c->out) { fprintf(stderr, "hooktimer: bad case %s\n", path); exit(2); }
}

int main(int argc, char **argv)
{
	struct tcase cs[8];
	int nc = argc - 6, runs, pause_ms;
	double deadline, max_s, *t_exec;
	const char *label;

	if (argc < 7 || nc > 8) { fprintf(stderr, "usage: hooktimer LABEL RUNS PAUSE_MS MAX_SECONDS OUTDIR CASEFILE...\n"); return 2; }
	label = argv[1]; runs = atoi(argv[2]); pause_ms = atoi(argv[3]); max_s = atof(argv[4]);
	for (int i = 0; i < nc; i++)
		load(&cs[i], argv[6 + i], argv[5]);
	/* The child writes its clock here right before execve. */
	t_exec = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t_exec == MAP_FAILED) { perror("mmap"); return 2; }
	deadline = now() + max_s;
	for (int r = 0; r < runs; r++) {
		if (now() > deadline) {
			fprintf(stderr, "hooktimer: %s: stopped after %d of %d rounds (MAX_SECONDS)\n", label, r, runs);
			break;
		}
		if (pause_ms)
			usleep(pause_ms * 1000);
		for (int i = 0; i < nc; i++) {
			struct tcase *c = &cs[i];
			struct rusage ru;
			struct stat st;
			int status;
			double t1;
			pid_t pid;

			*t_exec = 0;
			pid = fork();
			if (pid < 0) { perror("fork"); return 1; }
			if (pid == 0) {
				int ns = open(c->netns, O_RDONLY | O_CLOEXEC);
				int in = open(c->in, O_RDONLY);
				int er = open(c->err, O_WRONLY | O_CREAT | O_APPEND, 0600);
				int nul = open("/dev/null", O_WRONLY);

				if (ns < 0 || setns(ns, CLONE_NEWNET) < 0 || in < 0 || er < 0 || nul < 0)
					_exit(126);
				dup2(in, 0); dup2(nul, 1); dup2(er, 2);
				close(in); close(nul); close(er);
				*t_exec = now();
				execve(c->argv[0], c->argv, env);
				_exit(127);
			}
			if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); return 1; }
			t1 = now();
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || *t_exec == 0) {
				fprintf(stderr, "hooktimer: %s %s: run %d failed (status %d), stderr in %s\n", label,
					c->name, r + 1, status, c->err);
				return 1;
			}
			if (stat(c->err, &st) == 0 && st.st_size > 0) {
				fprintf(stderr, "hooktimer: %s %s: run %d wrote to stderr: %s\n", label, c->name, r + 1, c->err);
				return 1;
			}
			fprintf(c->out, "%s\t%.1f\t%.1f\n", label, (t1 - *t_exec) * 1e6,
				ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec);
		}
	}
	for (int i = 0; i < nc; i++)
		fclose(cs[i].out);
	return 0;
}
EOF
cc -O2 -Wall -o "$T/hooktimer" "$T/hooktimer.c" || die "cannot build the timing loop"

# timer ARGS...: hooktimer in the background, waited for, so that a signal
# to this script ends it (through the EXIT trap) without waiting for the loop.
timer() {
	local pid rc
	"$T/hooktimer" "$@" &
	pid=$!
	VWT_PIDS+=("$pid")
	wait "$pid"
	rc=$?
	unset 'VWT_PIDS[-1]'
	if [ "$rc" != 0 ]; then
		for f in "$T"/stderr-*; do
			[ -s "$f" ] && { echo "--- ${f##*/stderr-}:"; tail -n 5 "$f"; } >&2
		done
	fi
	return $rc
}

# Hook entries as install-hooks writes them (for the 3-script case).
"$VW_BIN" install-hooks --hooks-dir "$T/hooks" --state-dir "$STATES/3" >/dev/null || die "install-hooks failed"
ENTRY=$T/hooks/network.d/50-virtwire
[ -x "$ENTRY" ] || die "install-hooks wrote no $ENTRY"

# fixture SUFFIX: the namespace vwt-bench-hook-PID-SUFFIX with libvirt's
# bridge in it, as it is when libvirt runs the `started` hook.
fixture() {
	local ns="vwt-bench-hook-$$-$1" mac
	mac=$(gen --print-mac)
	vwt_ns_add "$ns" &&
		ip -n "$ns" link add vwb-bench address "$mac" type bridge stp_state 0 forward_delay 0 &&
		ip -n "$ns" addr add 198.18.0.1/16 dev vwb-bench &&
		ip -n "$ns" link set vwb-bench up
}

# reset N: as before the network's first start: empty ruleset, forwarding
# off, no state, then a pause for the kernel's deferred freeing.
reset() {
	local ns="vwt-bench-hook-$$-$1"
	in_ns "$ns" nft flush ruleset &&
		in_ns "$ns" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 &&
		rm -rf "${STATES:?}/$1"
}

# casefile NAME NS-SUFFIX STDIN ARGV...: a case for hooktimer: ARGV in
# namespace vwt-bench-hook-PID-SUFFIX with the file STDIN on stdin.
casefile() {
	local name=$1 sfx=$2 in=$3
	shift 3
	{
		echo "$name"
		echo "/run/netns/vwt-bench-hook-$$-$sfx"
		echo "$in"
		echo "$T/stderr-$name"
		printf '%s\n' "$@"
	} >"$T/case-$name"
	: >"$T/stderr-$name"
}

FIRST_CASES=() ALL_CASES=() DAEMON_CASES=()
for n in $HOOK_SIZES; do
	gen -n "$n" --hookdata -o "$T/hook-$n.xml"
	fixture "$n" || die "cannot set up the namespace for $n forwards"
	casefile "$n" "$n" "$T/hook-$n.xml" "$VW_BIN" hook network --state-dir "$STATES/$n" bench started begin -
	# libvirtd's own start (and SIGHUP): the daemon hook, no stdin.
	casefile "$n-daemon" "$n" /dev/null "$VW_BIN" hook daemon --state-dir "$STATES/$n" - start - start
	DAEMON_CASES+=("$T/case-$n-daemon")
	FIRST_CASES+=("$T/case-$n")
	ALL_CASES+=("$T/case-$n")
	if [ "$n" = 3 ]; then
		casefile 3-script 3 "$T/hook-3.xml" "$ENTRY" bench started begin -
		ALL_CASES+=("$T/case-3-script")
	fi
	last=$n
done
# The floors, in the namespace of the last case (it does not matter which).
casefile floor-true "$last" /dev/null /bin/true
casefile floor-version "$last" /dev/null "$VW_BIN" --version
FLOORS=("$T/case-floor-true" "$T/case-floor-version")
if command -v cc >/dev/null && pkg-config --exists glib-2.0 libnl-3.0 libnftnl libmnl &&
	echo 'int main(void) { return 0; }' | cc -x c - -o "$T/libs-floor" -Wl,--no-as-needed \
		$(pkg-config --libs glib-2.0 libnl-3.0 libnftnl libmnl) 2>/dev/null; then
	casefile floor-libs "$last" /dev/null "$T/libs-floor"
	FLOORS+=("$T/case-floor-libs")
fi
# VW_BIN_B: another build (say, linked another way, or the commit before)
# in the same rounds: every size's repeat and daemon hook, and the version
# floor. It has state directories of its own (STATES/B-N, in the same
# namespaces): the generation record's input digest names the executable
# that planned, so two builds sharing one directory would each find the
# other's and take the full path every time.
# Both builds must plan the same ruleset: they share each namespace's
# table, and two builds whose plans differ (a set one has and the other
# not) would each see the other's as drift and rewrite it, every call.
# Builds that plan differently go in runs of their own.
B_SIZES=()
if [ -n "${VW_BIN_B:-}" ]; then
	[ -x "$VW_BIN_B" ] || die "VW_BIN_B $VW_BIN_B is not an executable"
	record binary-b "$VW_BIN_B${VW_BIN_B_LABEL:+ ($VW_BIN_B_LABEL)}"
	for n in $HOOK_SIZES; do
		casefile "$n-B" "$n" "$T/hook-$n.xml" "$VW_BIN_B" hook network --state-dir "$STATES/B-$n" bench started begin -
		casefile "$n-daemon-B" "$n" /dev/null "$VW_BIN_B" hook daemon --state-dir "$STATES/B-$n" - start - start
		FLOORS+=("$T/case-$n-B")
		DAEMON_CASES+=("$T/case-$n-daemon-B")
		B_SIZES+=("$n")
	done
	casefile floor-version-B "$last" /dev/null "$VW_BIN_B" --version
	FLOORS+=("$T/case-floor-version-B")
fi
record input "$(for n in $HOOK_SIZES; do printf '%s forwards: %s bytes; ' "$n" "$(stat -c %s "$T/hook-$n.xml")"; done)"

# First (applying) runs, each after a reset.
for k in $(seq 1 "$FIRST_RUNS"); do
	for n in $HOOK_SIZES; do reset "$n" || die "cannot reset $n"; done
	sleep 0.5
	timer first 1 0 "$MAX_SECONDS" "$T" "${FIRST_CASES[@]}" || die "first run $k failed"
done
# One applying run if FIRST_RUNS=0: the repeats need the network applied.
if [ "$FIRST_RUNS" -lt 1 ]; then
	timer first 1 0 "$MAX_SECONDS" "$T" "${FIRST_CASES[@]}" || die "the applying run failed"
	sed -i '/^first/d' "$T"/*.tsv
fi

# A repeat must change nothing in the kernel: watch one with nft monitor.
for n in $HOOK_SIZES; do
	ns="vwt-bench-hook-$$-$n"
	in_ns "$ns" timeout 10 nft monitor >"$T/monitor-$n" 2>&1 &
	mon=$!
	VWT_PIDS+=("$mon")
	sleep 0.3
	in_ns "$ns" env -i LC_ALL=C PATH=/usr/bin:/bin "$VW_BIN" hook network --state-dir "$STATES/$n" bench started begin - \
		<"$T/hook-$n.xml" || die "repeat of $n failed"
	sleep 0.3
	kill "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	unset 'VWT_PIDS[-1]'
	if [ -s "$T/monitor-$n" ]; then
		record "repeat-changes-$n" "the repeat changed the ruleset: $(head -c 300 "$T/monitor-$n")"
	else
		record "repeat-changes-$n" "none (nft monitor saw no event during a repeat)"
	fi
done

# B's own records of the networks A applied: a copy of A's, which B's first
# run takes in (it sends nothing).
for n in "${B_SIZES[@]}"; do
	rm -rf "${STATES:?}/B-$n" && cp -a "$STATES/$n" "$STATES/B-$n" || die "cannot copy the records of $n"
	in_ns "vwt-bench-hook-$$-$n" "$VW_BIN_B" hook network --state-dir "$STATES/B-$n" bench started begin - \
		<"$T/hook-$n.xml" || die "B's first run of $n failed"
done
timer repeat "$RUNS" 0 "$MAX_SECONDS" "$T" "${ALL_CASES[@]}" "${FLOORS[@]}" || die "the repeat runs failed"
# The daemon hook at libvirtd's start: virtwire re-asserts every recorded
# network (the same apply as a repeat, from the state's copy of the XML).
if [ "$DAEMON_RUNS" -gt 0 ]; then
	timer daemon "$DAEMON_RUNS" 0 "$MAX_SECONDS" "$T" "${DAEMON_CASES[@]}" || die "the daemon hook runs failed"
fi
# One net-start and net-destroy of the typical network, hook by hook.
if [ "$CYCLE_RUNS" -gt 0 ]; then
	gen -n 3 --hookdata -o "$T/hook-3.xml"
	fixture cycle || die "cannot set up the namespace of the cycle"
	casefile 3-start cycle "$T/hook-3.xml" "$VW_BIN" hook network --state-dir "$STATES/cycle" bench start begin -
	casefile 3-started-new cycle "$T/hook-3.xml" "$VW_BIN" hook network --state-dir "$STATES/cycle" bench started begin -
	casefile 3-stopped cycle "$T/hook-3.xml" "$VW_BIN" hook network --state-dir "$STATES/cycle" bench stopped end -
	timer cycle "$CYCLE_RUNS" 0 "$MAX_SECONDS" "$T" "$T/case-3-start" "$T/case-3-started-new" \
		"$T/case-3-stopped" || die "the cycle runs failed"
fi
if [ "$SPACED_RUNS" -gt 0 ]; then
	timer spaced "$SPACED_RUNS" 1050 "$MAX_SECONDS" "$T" "${ALL_CASES[@]}" || die "the spaced runs failed"
fi

# Where the time of a repeat goes after start-up (the stage times of the
# test build of the CLI, VIRTWIRE_DEBUG=timing): the median over 9 runs of
# each stage.
for n in $HOOK_SIZES; do
	for _ in 1 2 3 4 5 6 7 8 9; do
		in_ns "vwt-bench-hook-$$-$n" env -i LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin VIRTWIRE_DEBUG=timing \
			"$VW_TEST_BIN" hook network --state-dir "$STATES/$n" bench started begin - <"$T/hook-$n.xml" 2>>"$T/phases-$n" ||
			die "timing run failed"
	done
	record "phases-repeat-$n" "$(python3 - "$T/phases-$n" <<'PY'
import re, statistics, sys
ph = {}
for line in open(sys.argv[1]):
    m = re.match(r"virtwire: (.*?)\s+([0-9.]+) ms", line)
    if m:
        ph.setdefault(m.group(1), []).append(float(m.group(2)))
print(", ".join("%s %.2f ms" % (k, statistics.median(v)) for k, v in ph.items()))
PY
)"
done

# Issue 14's ratios, medians of the same rounds (for B too): the largest
# network's call that changes nothing against the smallest's (target 3),
# `--version` and the typical network's repeat against /bin/true (target 5),
# and the floor of the libraries every call loads.
ratio() { # LABEL BASE-CASE CASE [TARGET]
	[ -f "$T/$2.tsv" ] && [ -f "$T/$3.tsv" ] || return 0
	record "ratio-$1-$3/$2" "$(python3 - "$T/$2.tsv" "$T/$3.tsv" "$1" "${4:-}" <<'PY'
import statistics, sys
def med(f):
    return statistics.median(float(l.split("\t")[1]) / 1e3 for l in open(f) if l.startswith(sys.argv[3] + "\t"))
a, b = med(sys.argv[1]), med(sys.argv[2])
print("%.2f ms / %.2f ms = %.2f%s" % (b, a, b / a, " (target <= %s)" % sys.argv[4] if sys.argv[4] else ""))
PY
)"
}
small=${HOOK_SIZES%% *} large=${HOOK_SIZES##* }
for sfx in "" -B; do
	if [ "$small" != "$large" ]; then
		ratio repeat "$small$sfx" "$large$sfx" 2
		ratio daemon "$small-daemon$sfx" "$large-daemon$sfx" 2
	fi
	ratio repeat floor-true "floor-version$sfx" 2
	[ "$small" = 3 ] && ratio repeat floor-true "3$sfx" 3
done
ratio repeat floor-true floor-libs

for f in "$T"/*.tsv; do
	c=$(basename "$f" .tsv)
	# Every run's time, for a closer look.
	cp "$f" "$BENCH_OUT/${BENCH_TAG:+$BENCH_TAG-}hook-times-$c.tsv"
	for label in first repeat spaced cycle daemon; do
		grep -q "^$label	" "$f" || continue
		record "hook-$label-$c" "$(python3 - "$f" "$label" <<'PY'
import math, statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]) if l.startswith(sys.argv[2] + "\t")]
w = sorted(float(r[1]) / 1e3 for r in rows)
cpu = statistics.mean(float(r[2]) / 1e3 for r in rows)
def pct(p):
    # nearest rank
    return w[max(0, math.ceil(p / 100 * len(w)) - 1)]
if len(w) >= 20:
    print("p50 %.2f ms, p99 %.2f ms, mean %.2f ms, min %.2f, max %.2f, cpu %.2f ms (%d runs)"
          % (pct(50), pct(99), statistics.mean(w), w[0], w[-1], cpu, len(w)))
else:
    print("median %.2f ms, mean %.2f ms, min %.2f, max %.2f, cpu %.2f ms (%d runs: %s)"
          % (statistics.median(w), statistics.mean(w), w[0], w[-1], cpu, len(w), " ".join("%.1f" % x for x in w)))
PY
)"
	done
done
