# The per-machine cache of our two builds from Debian's source (initrd/kernel/build.sh, the
# guest kernel; hypervisor/qemu/build.sh, our QEMU). Sourced by them, never run.
#
# An entry <cache>/<key>/ holds one artifact and a stamp (a one-line description of what was
# built) beside it, OUTSIDE the checkout, so `make clean`, fresh worktrees and CI runs on the
# same machine reuse it; the build tree gets a link to the artifact and a copy of the stamp
# (<out>.<stamp>, a file whose mtime make can trust). One build at a time per cache (flock):
# a second caller waits, then reuses. The caller sets NAME (its log prefix), ARTIFACT and
# STAMP (file names in the entry), then:
#   cache_reuse CACHE KEY OUT   a finished entry: link it and exit 0. Else return holding the
#                               cache's lock until exit, with an empty scratch dir $tmp to
#                               build in (under CACHE, removed on exit, whatever happens)
#   cache_publish DIR           DIR (under $tmp, holding ARTIFACT and STAMP) becomes the
#                               entry, with build-seconds; links it; $cache_secs says how
#                               long it took

cache_have() { [[ -r "$cache_dir/$ARTIFACT" && -r "$cache_dir/$STAMP" ]]; }

cache_link() {
  mkdir -p "$(dirname "$cache_out")"
  ln -sfn "$cache_dir/$ARTIFACT" "$cache_out"
  cp "$cache_dir/$STAMP" "$cache_out.$STAMP.tmp" && mv "$cache_out.$STAMP.tmp" "$cache_out.$STAMP"
  echo "$NAME: $cache_out -> $cache_dir/$ARTIFACT ($(head -1 "$cache_dir/$STAMP"))"
}

cache_reuse() { # cache key out
  cache_root=$1 cache_dir=$1/$2 cache_out=$3
  if cache_have; then
    cache_link
    exit 0
  fi
  mkdir -p "$cache_root"
  exec 9>"$cache_root/.lock"
  flock 9
  if cache_have; then # built by whoever held the lock
    cache_link
    exit 0
  fi
  cache_start=$(date +%s)
  tmp=$(mktemp -d "$cache_root/tmp.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
}

cache_publish() { # dir
  cache_secs=$(($(date +%s) - cache_start))
  echo "$cache_secs" >"$1/build-seconds"
  rm -rf "$cache_dir"
  mv "$1" "$cache_dir"
  chmod 0755 "$cache_dir"
  cache_link
}
