/**
 * xcp-provision as a library. The CLI (bin/provision.js) is a thin layer over these;
 * they never print: progress comes through onEvent, results are typed (zod + z.infer).
 */
export { provision } from './provision/run.js'
export { ProvisionResult, DryRunResult, type ProvisionOptions, type ProvisionEvent } from './provision/types.js'
export { loadRecipe } from './recipe/load.js'
// The steps a provision runs, by name, with their typed context (for scripts that run some of them, as the fleet does).
export { STEPS, STEP, type StepId, type Step, type StepContext, type RunState, type PlanInput } from './provision/steps.js'
export { RecipeSchema, type Recipe } from './recipe/schema.js'
export { UserError, type UserErrorInfo, ERROR_CODES, type ErrorCode, errorCode, EXIT } from './errors.js'
// Sample disks (the ones --host sim and the tests use): for check-image, a host trial or your own tests.
export { writeSampleImage, writeSampleHvmImage } from './image/write-image.js'
export type { SampleImageOptions, SampleImageLayout } from './image/sample-image.js'
export type { SampleHvmOptions, SampleHvmLayout } from './image/sample-hvm-image.js'
export { preflight, preflightFile } from './preflight/preflight.js'
export { PreflightReport, type PvSettings } from './preflight/report.js'
export * from './fleet/index.js'
