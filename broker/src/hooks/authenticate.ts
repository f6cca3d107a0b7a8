/**
 * The CONNECT check (issue 4, item 2): identity from the verified client certificate, the
 * client id against it, the registry's answer (cached), and the session registered in the
 * same turn as the last check, so a revocation cannot slip between them.
 */
import { checkClientId, refusal, type ConnectRefusal } from '../domain/connect-decision.js';
import { identityLabel, identityOf, type Identity } from '../domain/identity.js';
import type { BrokerMetrics } from '../ports/broker-metrics.js';
import type { Log } from '../ports/log.js';
import type { ConnectRequest, ConnectVerdict } from '../ports/mqtt-hooks.js';
import { generationKey, type IdentityChecker } from '../services/identity-checker.js';
import type { SessionRegistry } from '../services/session-registry.js';

export interface AuthenticateDeps {
  readonly identities: IdentityChecker;
  readonly sessions: SessionRegistry;
  readonly metrics: BrokerMetrics;
  readonly log: Log;
}

/** How often a check that raced with a registry event is repeated before giving up (code 3). */
const MAX_ATTEMPTS = 3;

export async function authenticate(deps: AuthenticateDeps, request: ConnectRequest): Promise<ConnectVerdict> {
  const refuse = (found: ConnectRefusal, identity?: Identity): ConnectVerdict => {
    deps.metrics.authFailure(found.reason);
    deps.log.warn(
      {
        clientId: request.clientId.slice(0, 128),
        remoteAddress: request.remoteAddress,
        reason: found.reason,
        returnCode: found.returnCode,
        ...(identity === undefined ? {} : { identity: identityLabel(identity), serial: identity.serial }),
      },
      `mqtt connection refused: ${found.message}`,
    );
    return { ok: false, refusal: found };
  };

  const identified = identityOf(request.peer);
  if (!identified.ok) return refuse(refusal(identified.code, identified.reason));
  const identity = identified.identity;
  const wrongId = checkClientId(identity, request.clientId, request.clean);
  if (wrongId !== undefined) return refuse(wrongId, identity);

  const key = generationKey(identity);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const generation = deps.identities.generation(key);
    const answer = await deps.identities.check(identity);
    if (deps.identities.generation(key) !== generation) continue;
    if (answer !== undefined) return refuse(answer, identity);
    deps.sessions.add(request.open(identity));
    return { ok: true };
  }
  return refuse(refusal('REGISTRY_UNAVAILABLE', 'the identity changed while it was being checked; retry'), identity);
}
