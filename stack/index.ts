export { stackUp, stackDown, stackStatus, formatStatus, stackServices } from './stack.js';
export type { ServiceStatus, Health } from './stack.js';
export { setupStack, SetupError } from './setup.js';
export type { ServiceName, ServiceDef } from './services.js';
export { stackPaths, KAFKA_VERSION, APICURIO_VERSION } from './services.js';
export { secureServices, secureStackUp, secureStackDown, secureStackStatus, secureStackConfig, secureServiceEnv, securePaths, secureAdminKafka, passwordFile, SECURE_PORT_OFFSET, ANALYST_TABLES } from './secure.js';
export type { SecureStackInfo, SecurePaths } from './secure.js';
export { applyServiceAcls, serviceAcls, SERVICE_ACCESS, SERVICE_USERS, KAFKA_ADMIN_USER } from './acls.js';
export type { ServiceAccess, ServiceUser } from './acls.js';
