/**
 * Live-stream clients for bench/serve.ts, in their own process so their parsing does not run on
 * the engine's event loop: opens `count` Server-Sent Events streams on `url` with `token`, counts
 * the bus events each receives and the drops the server reports, and prints one JSON line with
 * the totals when stdin closes.
 *
 *   node --import tsx bench/sse-clients.ts <url> <token> <count> [topics]
 */
import { request } from 'node:http';

const [url, token, countText, topics] = process.argv.slice(2);
const count = Number(countText);
const stats = Array.from({ length: count }, () => ({ events: 0, dropped: 0, lastSeq: 0, outOfOrder: 0 }));
const requests: Array<ReturnType<typeof request>> = [];
let open = 0;

for (const [i, stat] of stats.entries()) {
  const query = topics === undefined ? '' : `?topics=${encodeURIComponent(topics)}`;
  const req = request(`${url}/api/v1/events${query}`, { headers: { authorization: `Bearer ${token}` } }, (response) => {
    open++;
    if (open === count) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
    let buffer = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffer += chunk;
      // Scan by index (no slice per message: a chunk holds hundreds of them).
      let start = 0;
      let end = buffer.indexOf('\n\n', start);
      while (end >= 0) {
        if (buffer.startsWith('id: ', start)) {
          const seq = Number(buffer.slice(start + 4, buffer.indexOf('\n', start)));
          if (seq <= stat.lastSeq) stat.outOfOrder++;
          stat.lastSeq = seq;
          stat.events++;
        } else if (buffer.startsWith('event: dropped', start)) {
          const data = buffer.slice(buffer.indexOf('data: ', start) + 6, end);
          stat.dropped += (JSON.parse(data) as { dropped: number }).dropped;
        }
        start = end + 2;
        end = buffer.indexOf('\n\n', start);
      }
      buffer = buffer.slice(start);
    });
  });
  req.on('error', (error) => process.stderr.write(`client ${i}: ${error.message}\n`));
  req.end();
  requests.push(req);
}

process.stdin.resume();
process.stdin.on('end', () => {
  for (const req of requests) req.destroy();
  process.stdout.write(`${JSON.stringify({ clients: stats })}\n`);
  process.exit(0);
});
