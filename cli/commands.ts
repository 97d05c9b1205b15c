import type { Command } from './command.js';

/**
 * Every `buddies` subcommand. Each lives in its own module under cli/ and is registered here,
 * one line each, in the order `buddies --help` lists them.
 */
export async function loadCommands(): Promise<ReadonlyMap<string, Command>> {
  const entries: Array<[string, () => Promise<Command>]> = [
    ['stack', async () => (await import('./stack.js')).stackCommand],
    ['topics', async () => (await import('./topics.js')).topicsCommand],
    ['data', async () => (await import('./data-check.js')).dataCommand],
    ['warehouse', async () => (await import('./warehouse.js')).warehouseCommand],
    ['offline', async () => (await import('./offline.js')).offlineCommand],
    ['start', async () => (await import('./start.js')).startCommand],
    ['process', async () => (await import('./process.js')).processCommand],
    ['inspect', async () => (await import('./inspect.js')).inspectCommand],
    ['forget', async () => (await import('./forget.js')).forgetCommand],
    ['import', async () => (await import('./import.js')).importCommand],
    ['generate', async () => (await import('./generate.js')).generateCommand],
    ['eval', async () => (await import('./eval.js')).evalCommand],
    ['runs', async () => (await import('./runs.js')).runsCommand],
    ['models', async () => (await import('./models.js')).modelsCommand],
    ['lifecycle', async () => (await import('./lifecycle.js')).lifecycleCommand],
    ['tune', async () => (await import('./tune.js')).tuneCommand],
    ['simulate', async () => (await import('./simulate.js')).simulateCommand],
    ['gateway', async () => (await import('./gateway.js')).gatewayCommand],
    ['loadtest', async () => (await import('./loadtest.js')).loadtestCommand],
    ['bench', async () => (await import('./bench.js')).benchCommand],
    ['report', async () => (await import('./report.js')).reportCommand],
    ['trainer', async () => (await import('./trainer.js')).trainerCommand],
    // @commands-registry (add one line per command above this marker's end)
  ];
  const map = new Map<string, Command>();
  for (const [name, load] of entries) map.set(name, await load());
  return map;
}
