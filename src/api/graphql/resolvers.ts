// GraphQL resolvers: thin adapters over the same service functions the REST routes call.
import type { FastifyBaseLogger } from 'fastify';
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import type { Principal } from '../../auth/principal.js';
import { submitActivationStats } from '../../services/activation-stats.js';
import type { ServiceContext } from '../../services/context.js';
import { deleteDataset, getDataset, listDatasets } from '../../services/datasets.js';
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
import { GlassboxError, validationError } from '../../errors.js';
import { codedError } from './errors.js';

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
    background?: number[][] | null;
    backgroundDatasetId?: string | null;
    params?: {
      nsamples?: number | null;
      link?: string | null;
      seed?: number | null;
      outputs?: unknown;
      l1Reg?: string | null;
      options?: Record<string, unknown> | null;
    } | null;
  };
}

interface ActivationStatsArgs {
  input: {
    modelId: string;
    samples: unknown;
    layers?: string[] | null;
    histogramBins?: number | null;
    driftThreshold?: number | null;
  };
}

/** JSON values pass through as they are; literals in a query are read into plain values. */
const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: function parse(
    node: ValueNode,
    variables?: Record<string, unknown> | null,
  ): unknown {
    switch (node.kind) {
      case Kind.STRING:
      case Kind.BOOLEAN:
        return node.value;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(node.value);
      case Kind.NULL:
        return null;
      case Kind.LIST:
        return node.values.map((v) => parse(v, variables));
      case Kind.OBJECT:
        return Object.fromEntries(
          node.fields.map((f) => [f.name.value, parse(f.value, variables)]),
        );
      case Kind.VARIABLE:
        return variables?.[node.name.value];
      default:
        return undefined;
    }
  },
});

/** The REST body an explain mutation stands for. */
function explanationBody(input: ExplainArgs['input']): Record<string, unknown> {
  const { backgroundDatasetId, background, params, ...rest } = input;
  const { options, ...typed } = params ?? {};
  const merged = given({ ...options, ...typed });
  return {
    ...rest,
    ...(backgroundDatasetId != null
      ? { background: { datasetId: backgroundDatasetId } }
      : background != null
        ? { background }
        : {}),
    params: { ...merged, nsamples: merged.nsamples ?? 'auto' },
  };
}

/**
 * A validation error's field paths as the mutation's input spells them: parameters given in
 * `params.options` are checked as REST's flat `params`, so their paths move back under
 * `options`.
 */
function withOptionPaths(err: unknown, input: ExplainArgs['input']): unknown {
  if (!(err instanceof GlassboxError) || err.code !== 'GBX_ERR_VALIDATION') return err;
  const { options, ...typed } = input.params ?? {};
  const givenTyped = given(typed) as Record<string, unknown>;
  const fromOptions = new Set(Object.keys(options ?? {}).filter((key) => !(key in givenTyped)));
  if (fromOptions.size === 0) return err;
  const problems = err.problems.map((problem) => {
    const [head, key, ...rest] = problem.path.split('.');
    const moved = head === 'params' && fromOptions.has(key);
    return moved ? { ...problem, path: ['params', 'options', key, ...rest].join('.') } : problem;
  });
  return validationError(problems);
}

/** Which member of the JobResult union a stored result is. */
function resultType(result: Record<string, unknown>): string {
  if ('sampleCount' in result) return 'ActivationStatsResult';
  if (result.method === 'lime') return 'LimeResult';
  if (result.method === 'permutation_importance') return 'PermutationImportanceResult';
  return 'ShapleyResult';
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

/**
 * Subscription events are job views; this names them for the `jobUpdated` field. A failure
 * while watching (an unknown job, Redis away) reaches the client with its catalogued code, as
 * it would in a query: Mercurius sends errors thrown by a subscription's stream as they are.
 */
async function* jobUpdates(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  log: FastifyBaseLogger,
): AsyncGenerator<JobView> {
  try {
    yield* watchJob(ctx, principal, id);
  } catch (err) {
    const original = err instanceof Error ? err : new Error(String(err));
    throw codedError(new GraphQLError(original.message, { originalError: original }), log);
  }
}

export function buildResolvers(ctx: ServiceContext, log: FastifyBaseLogger) {
  return {
    Query: {
      model: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
        getModel(ctx, principal, id),
      models: (_: unknown, _args: unknown, { principal }: ResolverContext) =>
        listModels(ctx, principal),
      job: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
        getJob(ctx, principal, id),
      dataset: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
        getDataset(ctx, principal, id),
      datasets: (_: unknown, _args: unknown, { principal }: ResolverContext) =>
        listDatasets(ctx, principal),
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
      explain: (_: unknown, { input }: ExplainArgs, { principal }: ResolverContext) =>
        submitExplanation(ctx, principal, explanationBody(input)).catch((err: unknown) => {
          throw withOptionPaths(err, input);
        }),
      activationStats: (
        _: unknown,
        { input }: ActivationStatsArgs,
        { principal }: ResolverContext,
      ) => {
        const { histogramBins, driftThreshold, ...rest } = input;
        return submitActivationStats(ctx, principal, {
          ...given(rest),
          params: given({ histogramBins, driftThreshold }),
        });
      },
      cancelJob: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
        cancelJob(ctx, principal, id),
      deleteModel: async (_: unknown, { id }: { id: string }, { principal }: ResolverContext) => {
        await deleteModel(ctx, principal, id);
        return id;
      },
      deleteDataset: async (
        _: unknown,
        { id }: { id: string },
        { principal }: ResolverContext,
      ) => {
        await deleteDataset(ctx, principal, id);
        return id;
      },
    },
    Subscription: {
      jobUpdated: {
        subscribe: (_: unknown, { id }: { id: string }, { principal }: ResolverContext) =>
          jobUpdates(ctx, principal, id, log),
        resolve: (view: JobView) => view,
      },
    },
    Dataset: {
      // Lists leave rows out; read them only when the query asks for them.
      rows: async (
        dataset: { id: string; rows?: number[][] },
        _args: unknown,
        { principal }: ResolverContext,
      ) => dataset.rows ?? (await getDataset(ctx, principal, dataset.id)).rows,
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
      resolveType: (result: Record<string, unknown>) => resultType(result),
    },
    JSON: JsonScalar,
  };
}
