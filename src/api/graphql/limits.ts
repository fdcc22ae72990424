// Query depth and cost limits, as GraphQL validation rules that fail with catalogued codes.
import {
  GraphQLError,
  Kind,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import {
  createComplexityRule,
  directiveEstimator,
  simpleEstimator,
} from 'graphql-query-complexity';

/**
 * Meta fields (`__typename`, and introspection's `__schema` and `__type`, whose nesting follows
 * the schema rather than the data) add no depth.
 */
const isMetaField = (name: string) => name.startsWith('__');

/**
 * Rejects operations whose fields nest deeper than `maxDepth`. A field counts one level;
 * fragments (named or inline) add none, so a field reached through a fragment counts at the
 * depth where the fragment is spread; siblings take the deepest of them.
 */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION)
        fragments.set(definition.name.value, definition);
    }
    const measure = depthMeasure(fragments);
    return {
      OperationDefinition(operation) {
        const depth = measure(operation.selectionSet);
        if (depth <= maxDepth) return;
        const name = operation.name ? ` ${operation.name.value}` : '';
        context.reportError(
          new GraphQLError(
            `operation${name} nests ${depth} levels deep; at most ${maxDepth} allowed`,
            {
              nodes: [operation],
              extensions: { code: 'GBX_ERR_QUERY_TOO_DEEP', depth, maxDepth },
            },
          ),
        );
      },
    };
  };
}

/** Depth of a selection set; each fragment is measured once (a spread reuses it). */
function depthMeasure(
  fragments: Map<string, FragmentDefinitionNode>,
): (set: SelectionSetNode) => number {
  const fragmentDepths = new Map<string, number>();
  // Cyclic spreads are rejected by the standard NoFragmentCycles rule; here they stop the walk.
  const open = new Set<string>();
  const ofFragment = (name: string): number => {
    const known = fragmentDepths.get(name);
    if (known !== undefined) return known;
    const fragment = fragments.get(name);
    if (!fragment || open.has(name)) return 0;
    open.add(name);
    const depth = ofSet(fragment.selectionSet);
    open.delete(name);
    fragmentDepths.set(name, depth);
    return depth;
  };
  const ofSet = (set: SelectionSetNode): number => {
    let deepest = 0;
    for (const selection of set.selections) {
      let depth = 0;
      if (selection.kind === Kind.FIELD) {
        if (isMetaField(selection.name.value)) continue;
        depth = 1 + (selection.selectionSet ? ofSet(selection.selectionSet) : 0);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        depth = ofSet(selection.selectionSet);
      } else {
        depth = ofFragment(selection.name.value);
      }
      deepest = Math.max(deepest, depth);
    }
    return deepest;
  };

  return ofSet;
}

/**
 * Rejects operations that cost more than `maxCost`. A field costs 1, or what its `@complexity`
 * directive in the SDL says; list fields multiply their selection's cost by their page size.
 */
export function costLimitRule(
  maxCost: number,
  variables: Record<string, unknown> | undefined,
): ValidationRule {
  return createComplexityRule({
    maximumComplexity: maxCost,
    variables: variables ?? {},
    estimators: [
      directiveEstimator({ name: 'complexity' }),
      simpleEstimator({ defaultComplexity: 1 }),
    ],
    createError: (max, actual) =>
      new GraphQLError(`operation costs ${actual}; at most ${max} allowed`, {
        extensions: { code: 'GBX_ERR_QUERY_TOO_COSTLY', cost: actual, maxCost: max },
      }),
  });
}
