#!/usr/bin/env bash
# Regenerates Sources/MQTTNorth/Sparkplug/sparkplug_b.pb.swift from the
# published sparkplug_b.proto with protoc and swift-protobuf's plugin, the
# same version Package.swift names. Output is committed; CI never runs this.
#
#   scripts/gen/sparkplug_gen.sh [PATH_TO_SPARKPLUG_B_PROTO]
set -euo pipefail
cd "$(dirname "$0")/../.."
proto="${1:-proto/sparkplug_b.proto}"
command -v protoc >/dev/null || { echo "install protobuf-compiler (apt)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q https://github.com/apple/swift-protobuf "$work/swift-protobuf"
git -C "$work/swift-protobuf" checkout -q 1.39.0
swift build -c release --package-path "$work/swift-protobuf" --product protoc-gen-swift
cp "$proto" "$work/sparkplug_b.proto"
protoc --plugin=protoc-gen-swift="$work/swift-protobuf/.build/release/protoc-gen-swift" \
    --swift_opt=Visibility=Internal --swift_out=Sources/MQTTNorth/Sparkplug -I "$work" "$work/sparkplug_b.proto"
echo "wrote Sources/MQTTNorth/Sparkplug/sparkplug_b.pb.swift"
