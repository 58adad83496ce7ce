/** The XAPI simulator as a library: `import { startSimulator } from 'xcp-provision/simulator'`. */
export { startSimulator, DEFAULT_CREDENTIALS } from './simulator.js'
export type { Simulator, SimulatorOptions } from './simulator.js'
export type { Credentials, PygrubFlavour } from './state.js'
export { XapiFault } from './fault.js'
