export { createSimulation } from './engine.js';
export type { OnlineMetrics, SimEvent, SimUser, Simulation, SimulationOptions } from './engine.js';
export { runLiveSimulation } from './run.js';
export type { LiveSimulationOptions, LiveSimulationResult } from './run.js';
