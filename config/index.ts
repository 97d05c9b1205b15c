// Configuration: the lowest layer. Every folder may import it; it imports nothing of ours.
export { CONFIG_VARIABLES, ConfigError, findRootDir, loadConfig } from './config.js';
export type { BuddiesConfig, KafkaSecurityConfig } from './config.js';
