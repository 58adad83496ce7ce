/** The fleet API: `import { rollout } from 'xcp-provision'` re-exports this. */
export { rollout, DEFAULT_PER_HOST, DEFAULT_TOTAL } from './rollout.js'
export { loadFleet, resolveFleet, type ResolvedFleet } from './load.js'
export { FleetSchema, type Fleet, type FleetInput } from './schema.js'
export { expandNames } from './names.js'
export {
  RolloutResult,
  VmResult,
  BaseResult,
  TemplateResult,
  VmAction,
  VmState,
  Drift,
  type RolloutEvent,
  type RolloutOptions,
} from './types.js'
