# Sourced by .ci/run: puts the Node.js major that package.json's engines names first on PATH.
# engines.node is the one place the version is said (">=24"); the Dockerfile's base image is
# checked against it by tests/repo/versions.test.ts.
want=$(sed -n 's/.*"node": *">=\([0-9]*\).*/\1/p' package.json | head -1)
[ -n "$want" ] || { echo "package.json: engines.node is not of the form \">=N\"" >&2; exit 1; }
have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$have" -lt "$want" ]; then
  case "$(uname -m)" in x86_64) cpu=x64 ;; aarch64) cpu=arm64 ;; *) cpu=$(uname -m) ;; esac
  pkg="node-$(uname -s | tr 'A-Z' 'a-z')-$cpu"
  dir=".tmp/node-$want"
  if [ ! -x "$dir/node_modules/$pkg/bin/node" ]; then
    echo "Node.js $have here; installing $pkg@$want from the npm registry into $dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "$pkg@$want" >/dev/null
  fi
  export PATH="$PWD/$dir/node_modules/$pkg/bin:$PATH"
fi
echo "node $(node --version), npm $(npm --version)"
