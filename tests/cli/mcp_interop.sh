#!/bin/bash
# Interop: pitwall mcp driven by the official MCP TypeScript SDK
# (tests/mcp/interop.mjs; @modelcontextprotocol/sdk pinned in
# tests/mcp/package.json and package-lock.json). Installs the SDK into
# tests/mcp/node_modules with npm ci when it is missing, then reports each
# check of interop.mjs. Without node and npm, or when the install fails,
# this test fails and says why: it is never skipped.
. "$(dirname "$0")/lib.sh"
cd "$PW_SOURCE_ROOT" || exit 1
root=$PWD
case $PW_BIN in /*) ;; *) PW_BIN=$root/$PW_BIN ;; esac
mcp=$root/tests/mcp

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	not_ok "node and npm are needed for the MCP interop test (scripts/setup installs them: Debian's nodejs and npm)"
	finish
	exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 18 ]; then
	not_ok "node $(node --version) is too old for @modelcontextprotocol/sdk (it needs 18 or newer)"
	finish
	exit 1
fi

# The lock pins every package and its integrity hash; npm ci installs exactly
# those. Install when the SDK is missing or another version, or the lock
# changed since the last install (npm keeps a copy in node_modules).
want=$(node -p 'require(process.argv[1]).dependencies["@modelcontextprotocol/sdk"]' "$mcp/package.json")
have=$(node -p 'require(process.argv[1]).version' "$mcp/node_modules/@modelcontextprotocol/sdk/package.json" 2>/dev/null)
if [ "$have" != "$want" ] || [ "$mcp/package-lock.json" -nt "$mcp/node_modules/.package-lock.json" ]; then
	echo "installing @modelcontextprotocol/sdk $want into tests/mcp/node_modules (npm ci)"
	if npm ci --prefix "$mcp" --no-audit --no-fund >"$TMP/npm.log" 2>&1; then
		ok "npm ci installed the SDK from tests/mcp/package-lock.json"
	else
		sed 's/^/# /' "$TMP/npm.log" | tail -n 30
		not_ok "npm ci --prefix tests/mcp failed (log above; the npm registry must be reachable once)"
		finish
		exit 1
	fi
fi

# node prints "ok   ..." and "FAIL ..." lines: each is a check of this test
PW_BIN=$PW_BIN PW_SOURCE_ROOT=$root node "$mcp/interop.mjs" >"$TMP/interop.out" 2>&1
node_rc=$?
while IFS= read -r line; do
	case $line in
	"ok   "*) ok "${line#ok   }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	[0-9]*" passed, "*" failed") ;; # interop.mjs's own summary: finish prints the total
	*) echo "$line" ;;
	esac
done <"$TMP/interop.out"
if [ "$node_rc" -eq 0 ] && [ "$passed" -gt 0 ]; then
	ok "node tests/mcp/interop.mjs exited 0"
else
	not_ok "node tests/mcp/interop.mjs exited $node_rc"
fi
finish
