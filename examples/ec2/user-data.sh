#!/bin/bash
# EC2 user data: run the gpugate image on boot (Amazon Linux 2023 or Debian/Ubuntu).
# Secrets come from SSM Parameter Store (SecureString) or Secrets Manager through the instance role
# into files only root reads; nothing secret is written into this script, the AMI or the instance's
# user data. The guide is examples/ec2/README.md.
#
# Set these before launching (or template them with your IaC tool):
# IMAGE is pinned by digest: an upgrade is a new digest, rolled out instance by instance.
IMAGE="${IMAGE:-123456789012.dkr.ecr.us-east-1.amazonaws.com/gpugate@sha256:0000000000000000000000000000000000000000000000000000000000000000}"
REGION="${REGION:-us-east-1}"
SSM_PREFIX="${SSM_PREFIX:-/gpugate/prod}"                  # SecureString parameters named like the variables
SECRET_ID="${SECRET_ID:-}"                                  # or a Secrets Manager secret holding KEY=VALUE lines
CADDYFILE="${CADDYFILE:-cluster.Caddyfile}"                # gateway.Caddyfile for one instance with an embedded store
GPUGATE_ADDR="${GPUGATE_ADDR:-https://api.example.com}"    # the public name clients use; Caddy gets its certificate
GPUGATE_TRUSTED_PROXIES="${GPUGATE_TRUSTED_PROXIES:-10.0.0.0/16}" # the load balancer's subnets
# docker stop waits this long: shutdown_delay + grace_period of the longest shipped Caddyfile (modal, 31m).
STOP_TIMEOUT="${STOP_TIMEOUT:-1900}"
set -euo pipefail

if command -v dnf >/dev/null; then
	dnf install -y docker awscli
else
	apt-get update && apt-get install -y docker.io awscli
fi

# Log rotation: Docker's json-file logs are capped per container (the access log is JSON on stderr).
install -d -m 0755 /etc/docker
cat >/etc/docker/daemon.json <<'JSON'
{"log-driver": "json-file", "log-opts": {"max-size": "50m", "max-file": "5"}}
JSON
systemctl enable docker
systemctl restart docker

# Secrets into a root-only file (0600 from the start: umask before the file exists).
umask 077
install -d -m 0700 /etc/gpugate
secrets=/etc/gpugate/secrets.env
: >"$secrets"
if [ -n "$SECRET_ID" ]; then
	aws secretsmanager get-secret-value --region "$REGION" --secret-id "$SECRET_ID" \
		--query SecretString --output text >>"$secrets"
else
	aws ssm get-parameters-by-path --region "$REGION" --path "$SSM_PREFIX" --with-decryption \
		--query 'Parameters[].[Name,Value]' --output text |
		while IFS=$'\t' read -r name value; do printf '%s=%s\n' "${name##*/}" "$value"; done >>"$secrets"
fi
# The container's user (uid 10001, see the Dockerfile) reads it through a read-only mount and
# --envfile: the secrets never become container environment (docker inspect shows none).
chown 10001 "$secrets"
chmod 0400 "$secrets"
umask 022

aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "${IMAGE%%/*}"
docker pull "$IMAGE"
docker volume create gpugate-data
docker rm -f gpugate 2>/dev/null || true
# The site on every interface (the security group is the boundary), the operations listener on the
# instance's network for the load balancer's health checks and Prometheus (open 9180 to those only).
docker run -d --name gpugate --restart unless-stopped --stop-timeout "$STOP_TIMEOUT" \
	-p 80:80 -p 443:443 -p 443:443/udp -p 9180:9180 \
	-v "$secrets:/run/secrets/gpugate.env:ro" \
	-e GPUGATE_ADDR="$GPUGATE_ADDR" -e GPUGATE_BIND= -e GPUGATE_ADMIN=unix//run/gpugate/admin.sock \
	-e GPUGATE_HTTP_PORT=80 -e GPUGATE_HTTPS_PORT=443 -e GPUGATE_OPS_BIND= \
	-e GPUGATE_TRUSTED_PROXIES="$GPUGATE_TRUSTED_PROXIES" \
	-v gpugate-data:/data \
	"$IMAGE" run --config "/etc/gpugate/$CADDYFILE" --adapter gpugate --envfile /run/secrets/gpugate.env
