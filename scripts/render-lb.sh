#!/usr/bin/env bash
# Render the load-balancer site (nginx/oyster-lb.conf.in) for several
# executor nodes.
#
#   render-lb.sh [-l listen] [-a access_log] [-m max_request_bytes]
#                [-r read_timeout_s] [-f max_fails] [-F fail_timeout_s]
#                [-c connect_timeout_s] [-t template] [-o output] NODE...
#
# NODE is host:port of a node's nginx (its http_listen).  Defaults: listen
# 0.0.0.0:80, max_fails 2 within fail_timeout 10 s, connect timeout 2 s,
# read timeout 70 s (above the default deadline_ms + queue_timeout_ms),
# request bodies up to 2M (the default max_request_bytes).  Installed as
# /usr/lib/oyster-executor/render-nginx-lb, e.g.
#   /usr/lib/oyster-executor/render-nginx-lb -l 0.0.0.0:80 -o /etc/nginx/sites-available/oyster-lb \
#       10.0.0.11:8080 10.0.0.12:8080
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
template=/usr/share/oyster-executor/nginx/oyster-lb.conf.in
[ -f "$here/../nginx/oyster-lb.conf.in" ] && template=$here/../nginx/oyster-lb.conf.in
listen=0.0.0.0:80 access_log=/var/log/nginx/oyster-lb.access.log max_body=2M
read_timeout=70 max_fails=2 fail_timeout=10 connect_timeout=2 out=-
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while getopts "l:a:m:r:f:F:c:t:o:h" opt; do
  case $opt in
    l) listen=$OPTARG;; a) access_log=$OPTARG;; m) max_body=$OPTARG;; r) read_timeout=$OPTARG;;
    f) max_fails=$OPTARG;; F) fail_timeout=$OPTARG;; c) connect_timeout=$OPTARG;;
    t) template=$OPTARG;; o) out=$OPTARG;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage

nodes="" re='^[][A-Za-z0-9.:-]+:[0-9]+$'
for n in "$@"; do
  [[ $n =~ $re ]] || { echo "render-lb: '$n' is not host:port" >&2; exit 2; }
  nodes+="    server $n max_fails=$max_fails fail_timeout=${fail_timeout}s;\\n"
done
# Each node gets at most one try per request; a retry only ever goes to another node.
tries=$#
site=$(sed -e "s|@NODE_LINES@|${nodes%\\n}|" \
           -e "s|@LB_LISTEN@|$listen|g" \
           -e "s|@ACCESS_LOG@|$access_log|g" \
           -e "s|@MAX_REQUEST_BYTES@|$max_body|g" \
           -e "s|@READ_TIMEOUT@|${read_timeout}s|g" \
           -e "s|@CONNECT_TIMEOUT@|${connect_timeout}s|g" \
           -e "s|@TRIES@|$tries|g" \
           -e "s|@NEXT_UPSTREAM_TIMEOUT@|$((connect_timeout * tries + 1))s|g" \
           "$template")
left=$(grep -v '^ *#' <<<"$site" | grep -o '@[A-Z_]*@' | sort -u | tr '\n' ' ' || true)
[ -z "$left" ] || { echo "render-lb: placeholder left unfilled: $left" >&2; exit 1; }
if [ "$out" = - ]; then
  printf '%s\n' "$site"
else
  tmp=$(mktemp "$out.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  printf '%s\n' "$site" >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$out"
  trap - EXIT
fi
