#!/usr/bin/env bash
# Vendor the KVS WebRTC browser SDK into cloud/web/vendor/, so the page needs no build step.
#
# Run it only to change the SDK version; its output is committed. Needs npm (the registry only,
# no install into the project): it fetches the published package and copies its browser bundle.
set -euo pipefail
VERSION="${KVS_WEBRTC_VERSION:-2.9.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/cloud/web/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack --silent "amazon-kinesis-video-streams-webrtc@$VERSION" >/dev/null
tar -xzf amazon-kinesis-video-streams-webrtc-"$VERSION".tgz
mkdir -p "$DEST"
cp package/dist/kvs-webrtc.min.js "$DEST/kvs-webrtc.min.js"
cp package/dist/kvs-webrtc.LICENSE "$DEST/kvs-webrtc.LICENSE"
cp package/LICENSE.txt "$DEST/LICENSE-amazon-kinesis-video-streams-webrtc.txt"
(cd "$DEST" && sha256sum kvs-webrtc.min.js > kvs-webrtc.min.js.sha256)
echo "amazon-kinesis-video-streams-webrtc $VERSION -> $DEST"
