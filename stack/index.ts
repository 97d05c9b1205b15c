export { stackUp, stackDown, stackStatus, formatStatus, stackServices } from './stack.js';
export type { ServiceStatus, Health } from './stack.js';
export { setupStack, SetupError } from './setup.js';
export type { ServiceName, ServiceDef } from './services.js';
export { stackPaths, KAFKA_VERSION, APICURIO_VERSION } from './services.js';
