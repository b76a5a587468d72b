#!/bin/bash
# tail's memory with a reader that never reads, under a 20,000 events/s simulator (Linux: /proc).
# Usage: bench/tail_rss.sh [SECONDS]   (from the checkout, with kalshi-tui installed)
# Prints RSS every 5 s; with the bounded buffer it levels off instead of growing with time.
set -u
SECS=${1:-55}
D=$(mktemp -d)
kalshi-tui sim --port 0 --rate 20000 --markets 40 > $D/sim.out 2>&1 &
SIM=$!
for i in $(seq 50); do grep -q '^try:' $D/sim.out && break; sleep 0.2; done
TRY=$(grep '^try:' $D/sim.out | sed 's/^try: //; s/ --markets .*//')
REST=$(grep 'REST ' $D/sim.out | awk '{print $2}')
MK=$(python3 -c "import json,urllib.request;print(','.join(m['ticker'] for m in json.load(urllib.request.urlopen('$REST/markets?limit=1000'))['markets']))")
mkfifo $D/fifo
sleep $((SECS+30)) < $D/fifo &   # the reader: holds the pipe open, never reads
READER=$!
$TRY --markets $MK --channels orderbook_delta,ticker,trade --duration $SECS > $D/fifo 2> $D/tail.err &
TAIL=$!
for t in $(seq 0 5 $SECS); do
  echo "t=${t}s RSS=$(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$TAIL/status 2>/dev/null)"
  sleep 5
done
kill $TAIL 2>/dev/null; kill $READER; kill -INT $SIM; wait $TAIL; echo "tail exit $?"; cat $D/tail.err; rm -rf $D
