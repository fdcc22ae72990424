// GraphQL resolvers: thin adapters over the same service functions the REST routes call.
import type { Principal } from '../../auth/principal.js';
import type { ServiceContext } from '../../services/context.js';
import { submitExplanation } from '../../services/explanations.js';
import {
  cancelJob,
  getJob,
  jobCursor,
  listJobs,
  watchJob,
  type JobView,
} from '../../services/jobs.js';
import { deleteModel, getModel, listModels } from '../../services/models.js';

interface JobsArgs {
  filter?: { status?: string | null; type?: string | null; modelId?: string | null } | null;
  first?: number | null;
  after?: string | null;
}

interface ExplainArgs {
  input: {
    modelId: string;
    method: string;
    instances: number[][];
    background: number[][];
    params?: { nsamples?: number | null; link?: string | null; seed?: number | null } | null;
  };
}

/** What every resolver receives as context: who the operation acts for. */
export interface ResolverContext {
  principal: Principal;
}

/** Drops null and undefined values, which GraphQL uses for "not given". */
function given<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, v]) => v !== null && v !== undefined),
  ) as Partial<T>;
}

/** Subscription events are job views; this names them for the `jobUpdated` field. */
function jobUpdates(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): AsyncIterable<JobView> {
  return watchJob(ctx, principal, id);
}

export function buildResolvers(ctx: ServiceContext) {
  return {
    Query: {
      model: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
        getModel(ctx, principal, id),
      models: (_: unknown, _args: unknown, { principal }: ResolverContext) =>
        listModels(ctx, principal),
      job: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
        getJob(ctx, principal, id),
      jobs: async (_: unknown, args: JobsArgs, { principal }: ResolverContext) => {
        const page = await listJobs(
          ctx,
          principal,
          given({ ...args.filter, first: args.first, after: args.after }),
        );
        const edges = page.items.map((node) => ({ cursor: jobCursor(node), node }));
        return {
          edges,
          pageInfo: {
            hasNextPage: page.nextCursor !== null,
            endCursor: edges.at(-1)?.cursor ?? null,
          },
        };
      },
    },
    Mutation: {
      explain: (_: unknown, { input }: ExplainArgs, { principal }: ResolverContext) => {
        const params = given({ ...input.params });
        return submitExplanation(ctx, principal, {
          ...input,
          params: { ...params, nsamples: params.nsamples ?? 'auto' },
        });
      },
      cancelJob: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
        cancelJob(ctx, principal, id),
      deleteModel: async (_: unknown, { id }: { id: string }, { principal }: ResolverContext) => {
        await deleteModel(ctx, principal, id);
        return id;
      },
    },
    Subscription: {
      jobUpdated: {
        subscribe: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
          jobUpdates(ctx, principal, id),
        resolve: (view: JobView) => view,
      },
    },
    Job: {
      // Lists leave results out; read one only when the query asks for it.
      result: (job: JobView) =>
        job.result !== undefined
          ? job.result
          : job.status === 'completed'
            ? ctx.results.read(job.id)
            : null,
    },
    JobResult: {
      resolveType: () => 'ShapleyResult',
    },
  };
}
