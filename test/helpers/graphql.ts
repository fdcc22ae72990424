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
