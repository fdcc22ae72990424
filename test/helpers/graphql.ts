// Sends GraphQL operations to an app in-process.
import type { FastifyInstance } from 'fastify';

export interface GraphqlReply {
  statusCode: number;
  data: Record<string, any> | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[];
}

export async function gql(
  app: FastifyInstance,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GraphqlReply> {
  const res = await app.inject({ method: 'POST', url: '/graphql', payload: { query, variables } });
  return { statusCode: res.statusCode, ...(res.json() as Omit<GraphqlReply, 'statusCode'>) };
}

/** Opens a graphql-transport-ws subscription and resolves with the first answer to it. */
export async function firstSubscriptionMessage(
  url: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ type: string; payload: any }> {
  const { default: WebSocket } = await import('ws');
  const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
  try {
    return await new Promise((resolve, reject) => {
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.on('message', (raw) => {
        const message = JSON.parse(raw.toString());
        if (message.type === 'connection_ack') {
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        } else if (message.id === '1') {
          resolve(message);
        }
      });
      socket.on('error', reject);
      setTimeout(() => reject(new Error('no answer to the subscription in 10 s')), 10_000);
    });
  } finally {
    socket.close();
  }
}
