#!/bin/bash
# EC2 user data: run the gpugate image on boot (Amazon Linux 2023 or Debian/Ubuntu).
# Secrets come from SSM Parameter Store (SecureString) through the instance
# role; nothing secret is written into this script or the AMI.
#
# Set these before launching (or template them with your IaC tool):
IMAGE="${IMAGE:-<account>.dkr.ecr.<region>.amazonaws.com/gpugate:latest}"
REGION="${REGION:-us-east-1}"
SSM_PREFIX="${SSM_PREFIX:-/gpugate/prod}"
CADDYFILE="${CADDYFILE:-gateway.Caddyfile}"   # cluster.Caddyfile when several instances share Redis
GPUGATE_ADDR="${GPUGATE_ADDR:-https://api.example.com}" # the public name clients use; Caddy gets its certificate
set -euo pipefail

if command -v dnf >/dev/null; then dnf install -y docker awscli; else apt-get update && apt-get install -y docker.io awscli; fi
systemctl enable --now docker

# Pull every parameter under the prefix into an env file readable by root only.
umask 077
aws ssm get-parameters-by-path --region "$REGION" --path "$SSM_PREFIX" --with-decryption \
	--query 'Parameters[].[Name,Value]' --output text |
	while read -r name value; do echo "${name##*/}=${value}"; done >/etc/gpugate.env

aws ecr get-login-password --region "$REGION" | docker login --username AWS --password-stdin "${IMAGE%%/*}"
docker volume create gpugate-data
docker run -d --name gpugate --restart unless-stopped \
	-p 443:443 -p 80:80 \
	--env-file /etc/gpugate.env \
	-e GPUGATE_ADDR="$GPUGATE_ADDR" -e GPUGATE_ADMIN=localhost:2019 \
	-v gpugate-data:/data \
	"$IMAGE" run --config "/etc/gpugate/$CADDYFILE" --adapter caddyfile
