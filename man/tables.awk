# SPDX-License-Identifier: GPL-2.0-or-later
# Every cell of go-md2man's tables a text block (T{ … T}), so that tbl
# wraps it to the page: go-md2man makes only long cells blocks.
function row(s,    n, c, i, out) {
	n = split(s, c, "\t")
	out = ""
	for (i = 1; i <= n; i++) {
		out = out (i > 1 ? "\t" : "")
		if (c[i] == "T{") {
			out = out "T{"
			block = 1
		} else {
			out = out "T{\n" c[i] "\nT}"
		}
	}
	return out
}
/^\.TS$/ { table = 1; data = 0; print; next }
/^\.TE$/ { table = 0; print; next }
table && !data { if ($0 ~ /\.$/) { data = 1; gsub(/l/, "lx") } print; next }
table && block && /^T\}/ { block = 0; rest = substr($0, 3); print "T}" (rest == "" ? "" : "\t" row(substr(rest, 2))); next }
table && block { print; next }
table { print row($0); next }
{ print }
