// A bare Fastify server, the baseline of the API load section: the same JSON in and out, no work.
import Fastify from 'fastify';

const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
app.post('/bare', async (request, reply) =>
  reply.code(202).send({ id: 'x', received: Boolean(request.body) }),
);
app.get('/bare/:id', async (request) => ({
  id: (request.params as { id: string }).id,
  status: 'queued',
}));
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ msg: 'api listening', address })}\n`);
