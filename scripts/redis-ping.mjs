// Exits 0 when a Redis answers PING at the given URL (default redis://127.0.0.1:6379), else 1.
import { Redis } from 'ioredis';

const url = process.argv[2] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const client = new Redis(url, {
  lazyConnect: true,
  connectTimeout: 2000,
  maxRetriesPerRequest: 0,
  retryStrategy: () => null,
  enableOfflineQueue: false,
});
let socketError;
client.on('error', (err) => {
  socketError ??= err;
});
try {
  await client.connect();
  await client.ping();
  client.disconnect();
  process.exit(0);
} catch (err) {
  process.stderr.write(`no Redis answers at ${url}: ${(socketError ?? err).message}\n`);
  client.disconnect();
  process.exit(1);
}
