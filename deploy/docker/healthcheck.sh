#!/bin/bash
# Container readiness for an smt node (the image's HEALTHCHECK, compose healthcheck, k8s readiness):
# the API answers /v1/health, the shard has sealed an epoch, and (with --p2p) it has a libp2p peer.
# Plain bash (/dev/tcp): starting a Node process for each probe costs far more CPU on a busy host.
#   usage: smt-healthcheck [PORT]   (default 7700); exit 0 = ready
port="${1:-7700}"
r="$(timeout 4 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /v1/health HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3' _ "$port")" || exit 1
[[ $r == "HTTP/1."?" 200"* && $r == *'"ok":true'* && $r =~ \"epoch\":[0-9] ]] || exit 1
[[ ! $r =~ \"peers\": || $r =~ \"peers\":[1-9] ]] || exit 1
exit 0
