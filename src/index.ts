/** Junction's public surface for embedding: start a broker inside another Node application. */
export { createBroker, VERSION, type Broker, type BrokerOptions, type BoundPorts } from './broker.ts';
export { ConfigSchema, type JunctionConfig, type JunctionConfigInput } from './config/schema.ts';
export { loadConfig, parseConfig } from './config/load-config.ts';
export { MemoryStore } from './store/memory-store.ts';
export type { Store, StoreOp, RecoveredState } from './core/ports/store.ts';
export { JunctionError, ErrorCodes, type ErrorCode } from './errors.ts';
export type { Message, MessageInput, Destination } from './core/message.ts';
export type { Core } from './core/core.ts';
export { route, RouteBuilder } from './routing/builder.ts';
export type { RouteManager, RouteInfo } from './routing/route-manager.ts';
export type { RouteDefinition, RouteDefinitionInput } from './routing/definition.ts';
export type { StepDef } from './routing/types.ts';
export type { Exchange, ExchangeMessage, StepContext, Step } from './routing/types.ts';
export type { SecurityManager } from './security/security-manager.ts';
export type { Authenticator, Authorizer, LoginRequest, LoginResult, LoginSession, LoginRefusal, Permission, PeerCertificate, Subject } from './core/ports/security.ts';
export { hashPassword, verifyPassword } from './security/password-hash.ts';
