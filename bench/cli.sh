#!/usr/bin/env bash
# bench/cli.sh [MiB]: vod-upload measured against the plain tools, in one run, on one file (1 GiB by
# default), release builds:
#   1. its SHA-1 pass (`vod-upload --sha1`) against `sha1sum`, best of 3 each, alternating;
#   2. its whole upload (SHA-1 pass with the first parts' MD5s beside it, then MD5 and POST of every part, 4 at once, InitUploadEx and
#      FinishUploadEx) against curl doing the same calls: 4 curl processes POSTing the same 1 MiB parts
#      over kept-alive connections, the parts and their MD5s prepared beforehand (not timed), to a
#      fresh vod-server each (same flags, data on the same disk), best of 2 each.
# Ratios are the tool's time over vod-upload's (1.0: as fast; the goal is >= 0.9). The upload ratio
# is given for the whole run and for the upload phase alone (the whole less its SHA-1 pass), since
# curl is handed the SHA-1 and the MD5s; and curl's time plus md5sum's over the parts (timed once, in
# the preparation) against the upload phase, since vod-upload computes every part's MD5 as it goes. Figures on a loaded machine are noisy: compare within a run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$HOME/.cargo/bin:$PATH"

MIB=${1:-1024}
PART=1048576
LANES=4
ID=AKIDbench
KEY=bench-secret-key

cargo build --release -q -p vod-upload -p vod-server
BIN=$PWD/target/release
WORK=$(mktemp -d)
SERVERS=()
cleanup() {
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
best() { printf '%s\n' "$@" | sort -g | head -1; }
ratio() { echo "scale=3; $1 / $2" | bc -l; }
mbps() { echo "scale=0; $MIB * 1.048576 / $1" | bc -l; }

FILE=$WORK/bench.mp4
echo "cli bench: writing a $MIB MiB file of random bytes"
head -c $((MIB * 1048576)) /dev/urandom >"$FILE"
SIZE=$(stat -c %s "$FILE")
cat "$FILE" >/dev/null # in the page cache for everyone

echo "cli bench: SHA-1 pass (best of 3)"
SUM=() VOD=()
for _ in 1 2 3; do
  t0=$(now); SHA=$(sha1sum "$FILE" | cut -d' ' -f1); t1=$(now)
  SUM+=("$(elapsed "$t0" "$t1")")
  t0=$(now); OURS=$("$BIN/vod-upload" --sha1 "$FILE" | cut -d' ' -f1); t1=$(now)
  VOD+=("$(elapsed "$t0" "$t1")")
  [ "$SHA" = "$OURS" ] || { echo "SHA-1 differs: sha1sum $SHA, vod-upload $OURS" >&2; exit 1; }
done
SHA_SUM=$(best "${SUM[@]}") SHA_VOD=$(best "${VOD[@]}")

# A fresh vod-server: its endpoint in $EP.
start_server() {
  local dir=$WORK/server$1
  mkdir -p "$dir"
  "$BIN/vod-server" --listen 127.0.0.1:0 --secret-id $ID --secret-key $KEY --data-dir "$dir/data" >"$dir/out" 2>"$dir/log" &
  SERVERS+=("$!")
  for _ in $(seq 100); do grep -q '^listening on' "$dir/out" 2>/dev/null && break; sleep 0.1; done
  EP="$(sed -n 's/^listening on //p' "$dir/out")/v2/index.php"
}
signature() { "$BIN/vod-server" sign --secret-id $ID --secret-key $KEY --file-sha "$SHA" --file-name bench.mp4 --ttl 7200; }
urlencode() { sed -e 's/+/%2B/g' -e 's#/#%2F#g' -e 's/=/%3D/g'; }

echo "cli bench: preparing curl's parts and their MD5s (not timed)"
mkdir -p "$WORK/parts"
split -b $PART -d -a 6 "$FILE" "$WORK/parts/p"
t0=$(now); md5sum "$WORK"/parts/p* >"$WORK/md5s"; t1=$(now)
MD5_SUM=$(elapsed "$t0" "$t1")

# curl: InitUploadEx, the parts round-robin over $LANES curl processes, FinishUploadEx; seconds on stdout.
curl_upload() {
  local sig enc lane offset=0 i=0
  sig=$(signature); enc=$(printf %s "$sig" | urlencode)
  mkdir -p "$WORK/answers$1"
  for lane in $(seq 0 $((LANES - 1))); do : >"$WORK/lane$lane.cfg"; done
  while read -r md5 part; do
    local len
    len=$(stat -c %s "$part")
    printf 'url = "%s?Action=UploadPartEx&fileSha=%s&offset=%s&dataSize=%s&dataMd5=%s&signature=%s"\ndata-binary = "@%s"\nheader = "Content-Type: application/octet-stream"\noutput = "%s"\nsilent\nnext\n' \
      "$EP" "$SHA" "$offset" "$len" "$md5" "$enc" "$part" "$WORK/answers$1/$offset" >>"$WORK/lane$((i % LANES)).cfg"
    offset=$((offset + len)); i=$((i + 1))
  done <"$WORK/md5s"
  # No `next` after the last transfer (it would start an empty one).
  for lane in $(seq 0 $((LANES - 1))); do sed -i '$d' "$WORK/lane$lane.cfg"; done
  local t0 t1
  t0=$(now)
  curl -s "$EP?Action=InitUploadEx&fileSha=$SHA&fileSize=$SIZE&dataSize=$PART&signature=$enc" | grep -q '"code":0' || { echo "curl: InitUploadEx failed" >&2; exit 1; }
  for lane in $(seq 0 $((LANES - 1))); do curl -K "$WORK/lane$lane.cfg" & done
  wait
  curl -s "$EP?Action=FinishUploadEx&fileSha=$SHA&signature=$enc" | grep -q '"code":0' || { echo "curl: FinishUploadEx failed" >&2; exit 1; }
  t1=$(now)
  [ "$(grep -l '"code":0' "$WORK/answers$1"/* | wc -l)" = "$i" ] || { echo "curl: a part was refused" >&2; exit 1; }
  elapsed "$t0" "$t1"
}

vod_upload() {
  local sig t0 t1
  sig=$(signature)
  t0=$(now)
  "$BIN/vod-upload" "$FILE" --endpoint "$EP" --signature "$sig" --concurrency $LANES --part-size $PART --json | grep -q '"instant":false' || { echo "vod-upload failed" >&2; exit 1; }
  t1=$(now)
  elapsed "$t0" "$t1"
}

echo "cli bench: whole upload to a fresh vod-server (best of 2)"
CURL=() UP=()
for round in 1 2; do
  start_server "c$round"; CURL+=("$(curl_upload "$round")")
  start_server "v$round"; UP+=("$(vod_upload)")
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  SERVERS=()
  rm -rf "$WORK/serverc$round" "$WORK/serverv$round"
done
UP_CURL=$(best "${CURL[@]}") UP_VOD=$(best "${UP[@]}")
UP_ONLY=$(echo "$UP_VOD - $SHA_VOD" | bc -l)

echo
echo "cli bench: $MIB MiB, parts of $PART bytes, $LANES at once, $(nproc) cores"
printf '  SHA-1    sha1sum     %7.2f s  %5s MB/s\n' "$SHA_SUM" "$(mbps "$SHA_SUM")"
printf '           vod-upload  %7.2f s  %5s MB/s   ratio sha1sum/vod-upload %s\n' "$SHA_VOD" "$(mbps "$SHA_VOD")" "$(ratio "$SHA_SUM" "$SHA_VOD")"
printf '  upload   curl        %7.2f s  %5s MB/s   (parts and MD5s prepared beforehand)\n' "$UP_CURL" "$(mbps "$UP_CURL")"
printf '           vod-upload  %7.2f s  %5s MB/s   ratio curl/vod-upload %s (whole, SHA-1 pass included)\n' "$UP_VOD" "$(mbps "$UP_VOD")" "$(ratio "$UP_CURL" "$UP_VOD")"
printf '           upload phase %6.2f s             ratio curl/vod-upload %s (the whole less its SHA-1 pass)\n' "$UP_ONLY" "$(ratio "$UP_CURL" "$UP_ONLY")"
CURL_MD5=$(echo "$UP_CURL + $MD5_SUM" | bc -l)
printf '  curl + md5sum of the parts %6.2f s      ratio (curl + md5sum)/upload phase %s (the protocol needs every part'"'"'s MD5)\n' "$CURL_MD5" "$(ratio "$CURL_MD5" "$UP_ONLY")"
