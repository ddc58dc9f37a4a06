#!/usr/bin/env bash
# Render the nginx site of one executor node from nginx/oyster-site.conf.in
# and the node's executor.conf, so the site always agrees with the config
# (listen address, body size limit, sockets, admin networks, subdomain).
#
#   render-site.sh [-c executor.conf] [-t template] [-p fastcgi_params]
#                  [-l access_log] [-b oyster-fcgi] [-o output]
#
# Used three ways: scripts/stack-lib.sh (make run, tests) with repository
# paths; the .deb build (packaging/debian/rules) with the packaged paths; and
# installed as /usr/lib/oyster-executor/render-nginx-site, whose defaults are
# the packaged paths, after an admin changed /etc/oyster-executor/executor.conf:
#   /usr/lib/oyster-executor/render-nginx-site -o /etc/nginx/sites-available/oyster-executor
#   nginx -t && systemctl reload nginx
set -euo pipefail

conf=/etc/oyster-executor/executor.conf
template=/usr/share/oyster-executor/nginx/oyster-site.conf.in
params=/usr/share/oyster-executor/nginx/fastcgi_params
access_log=/var/log/nginx/oyster-executor.access.log
fcgi=/usr/sbin/oyster-fcgi
out=-
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while getopts "c:t:p:l:b:o:h" opt; do
  case $opt in
    c) conf=$OPTARG;; t) template=$OPTARG;; p) params=$OPTARG;; l) access_log=$OPTARG;;
    b) fcgi=$OPTARG;; o) out=$OPTARG;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || usage

eff=$("$fcgi" -c "$conf" --print-config) || { echo "render-site: $conf is not a valid configuration" >&2; exit 1; }
get() { sed -n "s/^$1=//p" <<<"$eff"; }

# Addresses go into nginx directives verbatim: accept only IPv4/IPv6
# addresses and CIDRs, so a typo cannot inject configuration.
addr_ok() { [[ "$1" =~ ^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$ ]]; }
allow=""
for a in $(get admin_allow); do
  addr_ok "$a" || { echo "render-site: admin_allow: '$a' is not an address or CIDR" >&2; exit 1; }
  allow+="        allow $a;\\n"
done
# Behind trusted load balancers the client is the last untrusted address of
# X-Forwarded-For (nginx's realip module): the per-client limit, admin_allow
# and the access log then see the real client, not the balancer.
realip=""
for a in $(get trusted_proxies); do
  addr_ok "$a" || { echo "render-site: trusted_proxies: '$a' is not an address or CIDR" >&2; exit 1; }
  realip+="    set_real_ip_from $a;\\n"
done
[ -z "$realip" ] || realip+="    real_ip_header X-Forwarded-For;\\n    real_ip_recursive on;\\n"
# nginx's own read timeout is a backstop behind the handler's deadline and queue timeout.
read_timeout=$(( ($(get deadline_ms) + $(get queue_timeout_ms)) / 1000 + 10 ))
sub=$(get subdomain)
sub_re=$(sed 's/[.]/\\\\./g' <<<"$sub")
# Without a subdomain the whole subdomain server block is left out.
if [ -n "$sub" ]; then keep='s/^@SUBDOMAIN_BLOCK_\(START\|END\)@$//'; else keep='/^@SUBDOMAIN_BLOCK_START@$/,/^@SUBDOMAIN_BLOCK_END@$/d'; fi

# Uploads per client and minute; 0 = no limit (the zone is declared, unused).
upload_rate=$(get max_code_uploads_per_minute)
if [ "${upload_rate:-0}" -gt 0 ]; then
  upload_lines="        limit_req zone=oyster_upload burst=$(( upload_rate / 4 > 1 ? upload_rate / 4 : 1 )) nodelay;\\n        limit_req_status 429;"
else
  upload_rate=60; upload_lines="        # max_code_uploads_per_minute = 0: no limit"
fi

render() {
  sed -e "$keep" \
      -e "s|@SUBDOMAIN@|$sub|g" \
      -e "s|@SUBDOMAIN_RE@|$sub_re|g" \
      -e "s|@HTTP_LISTEN@|$(get http_listen)|g" \
      -e "s|@MAX_REQUEST_BYTES@|$(get max_request_bytes)|g" \
      -e "s|@MAX_CONNECTIONS@|$(get max_connections)|g" \
      -e "s|@MAX_CONNECTIONS_PER_CLIENT@|$(get max_connections_per_client)|g" \
      -e "s|@REAL_IP_LINES@|${realip%\\n}|g" \
      -e "s|@EXEC_READ_TIMEOUT@|${read_timeout}s|g" \
      -e "s|@FASTCGI_PARAMS@|$params|g" \
      -e "s|@ACCESS_LOG@|$access_log|g" \
      -e "s|@FCGI_SOCKET@|$(get fcgi_socket)|g" \
      -e "s|@CONTROL_SOCKET@|$(get control_socket)|g" \
      -e "s|@ADMIN_ALLOW_LINES@|${allow%\\n}|g" \
      -e "s|@UPLOAD_RATE@|$upload_rate|g" \
      -e "s|@UPLOAD_LIMIT_LINES@|$upload_lines|g" \
      "$template"
}

site=$(render)
left=$(grep -v '^ *#' <<<"$site" | grep -o '@[A-Z_]*@' | sort -u | tr '\n' ' ' || true)
if [ -n "$left" ]; then
  echo "render-site: placeholder left unfilled: $left" >&2
  exit 1
fi
if [ "$out" = - ]; then
  printf '%s\n' "$site"
else
  # Replace the file in one rename, so nginx never reads half a site.
  tmp=$(mktemp "$out.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  printf '%s\n' "$site" >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$out"
  trap - EXIT
fi
