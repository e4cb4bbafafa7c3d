// When a holder's protocol steps left for the target and when their answers came, from its agent's
// events: a DID exchange (request sent, response received), the mediation request (requested,
// granted), a keylist update (sent, answered: each new connection of a mediated holder waits for one
// before its request goes out), a credential (request sent, credential received) and a presentation
// (sent, acknowledged).
// A command that waits for one of these reads it here, so its reply's `targetMs` is the target's time
// and the rest of the driver's time is the generator's own queueing (stamps.ts).
import {
  Agent,
  LogLevel,
  MediationRecipientService,
  ConnectionEventTypes,
  CredentialEventTypes,
  CredentialState,
  DidExchangeState,
  MediationState,
  ProofEventTypes,
  ProofState,
  RoutingEventTypes,
} from '@credo-ts/core'
import type {
  ConnectionStateChangedEvent,
  CredentialStateChangedEvent,
  KeylistUpdatedEvent,
  MediationStateChangedEvent,
  ProofStateChangedEvent,
} from '@credo-ts/core'
import { version } from '@credo-ts/core/package.json'
import { performance } from 'perf_hooks'

import { log } from './log'
import type { Stamps } from './stamps'

/** The Credo whose keylist update this file stamps (MediationRecipientService.keylistUpdateAndAwait). */
export const KEYLIST_STAMPED_VERSION = '0.5.19'

export type Exchange = 'connection' | 'mediation' | 'keylist' | 'credential' | 'proof'

/** Credo awaits one keylist update at a time per mediator, and a holder has one: one key for all. */
export const KEYLIST = 'mediator'

/** Which state of each exchange's record means "sent, waiting for the target", and which "answered". */
const ENDS: Record<Exclude<Exchange, 'keylist'>, { sent: string; answered: string }> = {
  connection: { sent: DidExchangeState.RequestSent, answered: DidExchangeState.ResponseReceived },
  mediation: { sent: MediationState.Requested, answered: MediationState.Granted },
  credential: { sent: CredentialState.RequestSent, answered: CredentialState.CredentialReceived },
  proof: { sent: ProofState.PresentationSent, answered: ProofState.Done },
}

// Stamps that no command reads (an exchange the target started and no one waits for, a failed one)
// must not pile up for a holder's whole life: the oldest go first.
const MAX_KEPT = 64

export class RoundTrips {
  private readonly sent = new Map<string, number>()
  private readonly answered = new Map<string, number>()

  /** Listens from the start: the agent's events are to be subscribed before it is initialized. */
  constructor(agent: Agent) {
    const on = (exchange: keyof typeof ENDS, id: string, state: string) => {
      const at = performance.now() // before the record waits for any command's turn
      if (state === ENDS[exchange].sent) keep(this.sent, `${exchange}:${id}`, at)
      else if (state === ENDS[exchange].answered) keep(this.answered, `${exchange}:${id}`, at)
    }
    agent.events.on<ConnectionStateChangedEvent>(ConnectionEventTypes.ConnectionStateChanged, ({ payload }) =>
      on('connection', payload.connectionRecord.id, payload.connectionRecord.state),
    )
    agent.events.on<MediationStateChangedEvent>(RoutingEventTypes.MediationStateChanged, ({ payload }) =>
      on('mediation', payload.mediationRecord.id, payload.mediationRecord.state),
    )
    agent.events.on<KeylistUpdatedEvent>(RoutingEventTypes.RecipientKeylistUpdated, () =>
      keep(this.answered, `keylist:${KEYLIST}`, performance.now()),
    )
    this.stampKeylistUpdates(agent)
    agent.events.on<CredentialStateChangedEvent>(CredentialEventTypes.CredentialStateChanged, ({ payload }) =>
      on('credential', payload.credentialRecord.id, payload.credentialRecord.state),
    )
    agent.events.on<ProofStateChangedEvent>(ProofEventTypes.ProofStateChanged, ({ payload }) =>
      on('proof', payload.proofRecord.id, payload.proofRecord.state),
    )
  }

  // No event says a keylist update left, and Credo sends it and awaits its answer in one method: stamped
  // as it is called, as a ping is stamped as it is handed to Credo.
  private stampKeylistUpdates(agent: Agent): void {
    if (version !== KEYLIST_STAMPED_VERSION) {
      log(LogLevel.warn, `@credo-ts/core ${version} is not ${KEYLIST_STAMPED_VERSION}: keylist updates are not stamped`)
      return
    }
    const service = agent.dependencyManager.resolve(MediationRecipientService)
    const keylistUpdateAndAwait = service.keylistUpdateAndAwait.bind(service)
    service.keylistUpdateAndAwait = (...args) => {
      keep(this.sent, `keylist:${KEYLIST}`, performance.now())
      return keylistUpdateAndAwait(...args)
    }
  }

  /**
   * Adds the round trip of `exchange` `id` to `stamps` when both its ends were seen during the command
   * (not left over from before it), and forgets it.
   */
  addTo(stamps: Stamps, exchange: Exchange, id: string): void {
    const key = `${exchange}:${id}`
    const sent = this.sent.get(key)
    const answered = this.answered.get(key)
    this.sent.delete(key)
    this.answered.delete(key)
    if (sent !== undefined && answered !== undefined && sent >= stamps.read) stamps.waited(sent, answered)
  }
}

function keep(map: Map<string, number>, key: string, at: number): void {
  map.delete(key)
  map.set(key, at)
  if (map.size > MAX_KEPT) map.delete(map.keys().next().value as string)
}
