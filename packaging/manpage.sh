#!/bin/sh
# Writes tosgate(1) from the command's own help texts, so that the man page
# says what the binary says: `tosgate help` and each `tosgate <cmd> --help`
# that exists, verbatim, with the files the package installs.
#   packaging/manpage.sh BINARY VERSION OUT
set -eu
bin=$1 version=$2 out=$3

# Help text as roff: no-fill, backslashes doubled, a line starting with . or '
# kept literal by a zero-width character in front.
verbatim() {
  printf '.nf\n'
  sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
  printf '.fi\n'
}

{
  printf '.TH TOSGATE 1 "" "tosgate %s" "User Commands"\n' "$version"
  printf '.SH NAME\ntosgate \\- terms-of-service enforcement gateway for AI APIs\n'
  printf '.SH SYNOPSIS\n.B tosgate\n.I command\n.RI [ options ]\n'
  printf '.SH DESCRIPTION\n'
  printf 'tosgate evaluates declarative YAML policies on every API request (rate caps,\n'
  printf 'token budgets, prohibited-use content rules, competitor-training detection),\n'
  printf 'decides allow, deny or throttle, and records each decision in a tamper-evident\n'
  printf 'audit store. The commands, as \\fBtosgate help\\fR prints them:\n'
  "$bin" help | verbatim
  for cmd in audit accounts init doctor; do
    help=$("$bin" "$cmd" --help 2>/dev/null) || continue
    [ -n "$help" ] || continue
    printf '.SS "tosgate %s"\n' "$cmd"
    printf '%s\n' "$help" | verbatim
  done
  cat <<'ROFF'
.SH FILES
.TP
.I /etc/tosgate/config.yaml
the service's configuration (\fBtosgate serve \-\-config\fR); a conffile
.TP
.I /etc/tosgate/policies/
the starter policy set, importing the built-in packs; conffiles
.TP
.I /var/lib/tosgate/
the audit store (audit.db) and the admin database (admin.db); kept when the package is removed
.TP
.I /lib/systemd/system/tosgate.service
the systemd unit: \fBsystemctl reload tosgate\fR reloads the policies (SIGHUP)
.TP
.I /usr/share/tosgate/packs/
the sources of the packs built into the binary (default, prohibited-use, distillation, rate-limits)
.SH SIGNALS
SIGHUP reloads the policy set (a set with errors keeps the active one);
SIGTERM and SIGINT stop accepting, finish the requests in flight and flush
the audit store.
.SH EXIT STATUS
0 success, 1 failure of the work, 2 bad usage or bad input.
.SH SEE ALSO
.BR systemctl (1),
.BR journalctl (1),
/usr/share/doc/tosgate/install.md
ROFF
} > "$out"
