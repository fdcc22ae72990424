import { breastCancerPayload } from './common.js';
import { startBenchCompute } from './methods.js';
const { fixtures, pool } = await startBenchCompute(['breast-cancer']);
const payload = breastCancerPayload(fixtures.ids['breast-cancer'], 4);
await pool.explain(payload, () => undefined);
const t = performance.now();
for (let i = 0; i < 10; i++) await pool.explain(payload, () => undefined);
console.log('per job ms', ((performance.now() - t) / 10).toFixed(1));
await pool.close(); await fixtures.remove(); process.exit(0);
