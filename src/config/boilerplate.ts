/**
 * The text `teleport-mattermost configure` prints: a config file that documents every key
 * (what it does, its default, an example) and loads once its placeholders are replaced.
 * Settings that are off by default are shown commented out. Placeholders are either
 * example.com addresses and example paths, or `REPLACE-WITH-…` values, which the loader refuses
 * (placeholder.ts), so a forgotten secret cannot go live.
 */

const BOILERPLATE = `# teleport-mattermost configuration. EDIT THIS FILE before starting the daemon:
# replace every example.com address, every path under /var/lib/teleport/plugins/mattermost/
# and every REPLACE-WITH-… value with your own.
#
# Lines that read "# key = value" are optional settings, shown with their default or an
# example; remove the "# " to turn one on. Relative paths are relative to this file's folder.
# Check the result with: teleport-mattermost check -c /etc/teleport-mattermost.toml
#
# This file holds the bot's token and the button secret. \`configure > FILE\` creates FILE
# readable by everyone (with the usual umask 022): make it private before you fill it in,
#   chmod 600 FILE   (or: chgrp teleport-mattermost FILE && chmod 640 FILE)
# or keep the token in a file of its own (token = "/path"). start warns while it is not.

[teleport]
# Where Teleport is, as host:port: the proxy's HTTPS address (Teleport Cloud:
# "<tenant>.teleport.sh:443"; a self-hosted proxy: port 443, or 3080), or an auth server
# (port 3025). The daemon finds out which it is: an auth server directly; a proxy with TLS
# routing (Teleport 8+); or, when a load balancer in front of the proxy ends TLS, the
# proxy's connection upgrade (Teleport 15.1+). \`teleport-mattermost check\` says which.
# Default: "localhost:3025". Old name: auth_server.
addr = "teleport.example.com:443"

# The identity this daemon presents to Teleport, exported with
#   tctl auth sign --format=tls --user=access-plugin-mattermost --out=auth --ttl=8760h
# which writes auth.key, auth.crt and auth.cas. Set all three, or identity below instead.
client_key = "/var/lib/teleport/plugins/mattermost/auth.key"
client_crt = "/var/lib/teleport/plugins/mattermost/auth.crt"
root_cas = "/var/lib/teleport/plugins/mattermost/auth.cas"

# Instead of the three files above: one identity file, exported with
#   tctl auth sign --format=file --user=access-plugin-mattermost --out=identity --ttl=8760h
# or kept up to date by tbot (Machine ID).
# identity = "/var/lib/teleport/plugins/mattermost/identity"

# Re-read the identity file periodically, for an identity file that tbot renews.
# Needs identity. Default: false.
# refresh_identity = true

# How often to re-read it when refresh_identity is on. Default: "1m".
# refresh_identity_interval = "1m"

# Through a proxy only: the CA certificate (PEM) that issued the proxy's web certificate, when
# that is a private CA. Needed only when a load balancer ends TLS in front of the proxy (the
# connection upgrade then runs over the web certificate). Default: the public CAs Node.js knows,
# plus NODE_EXTRA_CA_CERTS.
# proxy_ca_file = "/var/lib/teleport/plugins/mattermost/proxy-ca.pem"

# Through a proxy only: use the connection upgrade (true) or never (false), for set-ups the
# automatic test cannot see (like Teleport's TELEPORT_TLS_ROUTING_CONN_UPGRADE). Default: found out.
# connection_upgrade = true

[mattermost]
# The address you open Mattermost at.
url = "https://mattermost.example.com"

# PEM file of the CA certificates that sign Mattermost's certificate, when that is a private
# (company) CA. They are trusted besides the usual public CAs. Default: none.
# ca_file = "/etc/ssl/certs/company-ca.pem"

# The team and channel that receive the access requests: the names in the channel's address,
# https://mattermost.example.com/<team>/channels/<channel>, not the display names. Add the bot
# to both. Optional: without them (as Teleport's own plugin runs) requests go to recipients,
# [role_to_recipients] and, by direct message, to their suggested reviewers.
team = "team-name"
channel = "channel-name"

# Access token of the bot account (Integrations > Bot Accounts). Instead of the token itself,
# this can be the path of a file holding it: a value starting with "/" is read from that file.
token = "REPLACE-WITH-BOT-TOKEN"

# Key that signs the Approve and Deny buttons, so that only clicks relayed by Mattermost count.
# Random text of at least 16 characters; make one with: openssl rand -hex 32
secret = "REPLACE-WITH-OUTPUT-OF-openssl-rand-hex-32"

# More places to post every request: Mattermost users (name or email), who get a direct
# message from the bot, or channels written as "team/channel". Every post of a request is kept
# up to date and loses its buttons once decided. Default: none.
# recipients = ["alice@example.com", "team-name/security"]

# Send a direct message to each suggested reviewer of a request (tsh request create
# --reviewers) who is a Mattermost user (same username or email). The requester chooses them,
# so at most 10 are messaged. Default: true.
# dm_suggested_reviewers = false

# Tell the requester the outcome (with the reason) by direct message, when they are a
# Mattermost user. Default: true.
# notify_requester = false

# Set to true when Mattermost runs as a High Availability cluster (several app servers) and
# several instances of this daemon run at once: each new request is then claimed in Teleport
# before it is posted, one Teleport round trip more per request. Without it a request is posted
# first and recorded after, and Mattermost's guard against a repeated post (which lives in each
# app server) keeps instances from posting it twice. Default: false.
# ha_cluster = true

[http]
# The address at which Mattermost reaches this daemon's callback server (the buttons call it).
# https:// is assumed when no scheme is given (http:// with start --insecure-no-tls).
# "user:password@" before the host turns on basic auth, like [http.basic_auth].
# Old names: host, base-url.
public_addr = "teleport-mattermost.example.com:8081"

# Where the callback server listens, as host:port. Default: ":8081" (every interface).
# Old name: listen.
# listen_addr = ":8081"

# PEM key and certificate of the callback server. Default: server.key and server.crt of the
# original plugin in /var/lib/teleport/plugins/mattermost when there, else a self-signed
# certificate generated at every start (Mattermost must then skip verification:
# EnableInsecureOutgoingConnections).
# https_key_file = "/var/lib/teleport/plugins/mattermost/server.key"
# https_cert_file = "/var/lib/teleport/plugins/mattermost/server.crt"

# Require HTTP basic auth on the callback server. Default: off.
# [http.basic_auth]
# user = "mattermost"
# password = "REPLACE-WITH-A-PASSWORD"

# Require a client certificate on the callback server. Default: false.
# [http.tls]
# verify_client_cert = true
# CA certificates (PEM) that client certificates must chain to. Default: the system's CAs.
# client_ca_file = "/var/lib/teleport/plugins/mattermost/client-ca.pem"

[health]
# Where the plain-HTTP health and metrics listener serves /healthz (the process runs),
# /readyz (connected to Teleport and Mattermost: 200, else 503 with the reason) and /metrics
# (Prometheus), as host:port. Default: "127.0.0.1:8082" (this host only).
# listen_addr = "127.0.0.1:8082"

[log]
# Where log lines go: "stderr", "stdout" or the path of a file. Default: "stderr".
# A file is reopened on SIGHUP (systemctl reload), so logrotate can move it away.
output = "stderr"

# The least severe level logged: "debug", "info", "warn" or "error". Default: "info".
severity = "info"

# "text": readable lines (level, message, then the details as JSON); "json": one JSON object
# per line, for log shippers. Default: "text".
# format = "json"

[review]
# Who may approve or deny from Mattermost. A click on Approve or Deny opens a dialog that asks for
# a reason; the decision is made in the name of the Teleport user the clicker maps to, and a
# requester can never decide their own request.

# How the decision reaches Teleport:
#   "review": an access review authored by the mapped user (Teleport judges it with that user's
#             review permissions and thresholds); the plugin's role needs
#             review_requests.submit_for_users (preset role access-plugin-with-review).
#   "state":  the request's state is set by the plugin, with delegator "mattermost:<user>",
#             for the approvers listed under [review.approvers] below.
#   "auto":   "review" where Teleport accepts reviews on behalf of a user, "state" elsewhere.
# Default: "auto".
# mode = "auto"

# Map a Mattermost user to a Teleport user. Without any way, posts get no buttons: they show
# the link to Teleport's web UI and the tsh request review commands instead. In order of
# precedence:
#  1. [review.users] below: Mattermost username = Teleport user, as you write it.
#  2. This Teleport user trait: the Teleport user named like the Mattermost username counts when
#     this trait of it holds the Mattermost user id or username. Default: not used.
# mattermost_user_trait = "mattermost_user_id"
#  3. The Teleport user named exactly like the Mattermost email, else like the Mattermost
#     username, with no other proof. Only safe where both systems share one identity provider.
#     Default: false.
# allow_email_username_match = true

# Whether the dialog's reason is "optional" or "required", for approving and for denying.
# Default: "optional" for both.
# approve_reason = "optional"
# deny_reason = "required"

# Requests for these roles get no buttons: the post links to Teleport's web UI and shows the
# tsh command, and they are decided in Teleport only. "*" means every role. Default: none.
# link_only_roles = ["prod-admin"]

# Mattermost username = Teleport user, for people whose names differ.
# [review.users]
# "bob" = "bob.smith"

# Who may decide requests for a role in "state" mode ("*" = roles without their own entry):
# Mattermost usernames, members of Mattermost teams (URL names), or Teleport users. A request
# for several roles needs an approver of every one. Default: nobody.
# [review.approvers.dba]
# mattermost_users = ["bob"]
# mattermost_teams = ["security"]
# teleport_users = ["bob.smith"]

# Who else to notify, by requested role. "*" applies to roles without their own entry.
# A value is one recipient or a list: a user (name or email) or "team/channel". Default: none.
# [role_to_recipients]
# "*" = "team-name/channel-name"
# "prod-admin" = ["alice@example.com", "team-name/security"]

# Remind in the thread of a request that is still pending: first after "after", then every
# "every" ("0" for a single reminder). Off unless after is set.
# [reminders]
# after = "30m"
# every = "1h"
`;

export function configureText(): string {
  return BOILERPLATE;
}
