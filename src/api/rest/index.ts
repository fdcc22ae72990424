// Every REST route of the service, registered in one place.
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../../services/context.js';
import { registerActivationStatsRoutes } from './activation-stats.js';
import { registerDatasetRoutes } from './datasets.js';
import { registerJobRoutes } from './jobs.js';
import { registerModelRoutes } from './models.js';

export function registerRestRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  registerModelRoutes(app, ctx);
  registerJobRoutes(app, ctx);
  registerActivationStatsRoutes(app, ctx);
  registerDatasetRoutes(app, ctx);
}
