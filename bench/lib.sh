# bench/lib.sh: what the benchmark scripts share (sourced, not run).
#
# Each round of a benchmark prints its figures; these turn the rounds into
# "median (min-max)" cells for bench/RESULTS.md.

# mmm FORMAT: the numbers on stdin (one a line) as "MED (MIN-MAX)", each in
# the printf FORMAT; "n/a" when there are none.
mmm() {
	sort -g | awk -v f="$1" '{ v[NR] = $1 }
	END {
		if (NR == 0) { printf "n/a"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf f " (" f "-" f ")", m, v[1], v[NR]
	}'
}

# med: the median of the numbers on stdin, unformatted.
med() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR) print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# kv KEY: from lines of "key value key value ...", each value of KEY.
kv() {
	awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}

# jnum KEY: from lines of flat JSON, each number that KEY has.
jnum() {
	grep -o "\"$1\":[-0-9.e]*" | cut -d: -f2
}

# ratio A B: per line, field A over field B of "key value" lines (one a round).
ratio() {
	awk -v a="$1" -v b="$2" '{ for (i = 1; i < NF; i += 2) { if ($i == a) x = $(i + 1); if ($i == b) y = $(i + 1) }
		if (y > 0) print x / y }'
}
