// The GraphQL front door at /graphql: SDL from schema/, resolvers over the services, limits.
import type { FastifyInstance } from 'fastify';
import { specifiedRules, validate } from 'graphql';
import mercurius from 'mercurius';
import type { ServiceContext } from '../../services/context.js';
import { codedError, formatGraphqlErrors } from './errors.js';
import { costLimitRule, depthLimitRule } from './limits.js';
import { buildResolvers } from './resolvers.js';
import { loadSchemaText } from './schema.js';

export async function registerGraphql(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { GRAPHQL_MAX_DEPTH, GRAPHQL_MAX_COST, GRAPHIQL } = ctx.config;
  const depthRule = depthLimitRule(GRAPHQL_MAX_DEPTH);
  await app.register(mercurius, {
    schema: await loadSchemaText(),
    resolvers: buildResolvers(ctx, app.log) as never,
    path: '/graphql',
    graphiql: GRAPHIQL,
    // The access hook has authenticated the request (the WebSocket upgrade too) before this.
    context: (request) => ({ principal: request.principal }),
    subscription: {
      context: (_socket, request) => ({ principal: request.principal }),
    },
    // The cost rule reads the request's variables (page sizes), which rules out query caching.
    cache: false,
    validationRules: ({ variables }) => [depthRule, costLimitRule(GRAPHQL_MAX_COST, variables)],
    errorFormatter: formatGraphqlErrors,
  });

  // Mercurius runs no validation rules on subscriptions over WebSocket, so they run here.
  // Limitation: subscriptions get the depth limit but not the cost limit, because this hook does
  // not see the operation's variables, which the cost rule needs; the one subscription field
  // selects a single job, so its cost is bounded by the schema.
  const subscriptionRules = [...specifiedRules, depthRule];
  app.graphql.addHook('preSubscriptionExecution', async (schema, document) => {
    const [first] = validate(schema, document, subscriptionRules);
    if (first) throw codedError(first, app.log);
  });
}
