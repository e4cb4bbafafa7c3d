// Credential and proof exchanges of one holder, and the did:key a W3C credential names it by: offers and
// proof requests are buffered as they arrive, so a command that waits for one never misses one that came first.
import { Agent, CredentialEventTypes, CredentialState, KeyType, ProofEventTypes, ProofState } from '@credo-ts/core'
import type { CredentialStateChangedEvent, ProofStateChangedEvent } from '@credo-ts/core'

import { performance } from 'perf_hooks'

import { CommandError } from './protocol'
import type { CreateDidKeyResult, PresentationExchangeResult, ReceiveCredentialResult } from './protocol.generated'
import type { RoundTrips } from './roundTrips'
import type { Stamps } from './stamps'
import { Inbox, withTimeout } from './wait'

interface Arrival {
  id: string
  threadId: string
  connectionId?: string
  at: number // performance.now() when Credo handed it over
}

const CREDENTIAL_FAILED = [CredentialState.Abandoned, CredentialState.Declined]
const PROOF_FAILED = [ProofState.Abandoned, ProofState.Declined]

export class Exchanges {
  readonly offers = new Inbox<Arrival>()
  readonly proofRequests = new Inbox<Arrival>()
  private readonly credentialStates = new Map<string, { state: CredentialState; error?: string }>()
  private readonly proofStates = new Map<string, { state: ProofState; error?: string }>()
  private readonly settled = new Set<() => void>()

  constructor(
    private readonly agent: Agent,
    private readonly roundTrips: RoundTrips,
  ) {
    agent.events.on<CredentialStateChangedEvent>(CredentialEventTypes.CredentialStateChanged, ({ payload }) => {
      const record = payload.credentialRecord
      this.credentialStates.set(record.id, { state: record.state, error: record.errorMessage })
      if (record.state === CredentialState.OfferReceived) {
        this.offers.push({ id: record.id, threadId: record.threadId, connectionId: record.connectionId, at: performance.now() })
      }
      this.notify()
    })
    agent.events.on<ProofStateChangedEvent>(ProofEventTypes.ProofStateChanged, ({ payload }) => {
      const record = payload.proofRecord
      this.proofStates.set(record.id, { state: record.state, error: record.errorMessage })
      if (record.state === ProofState.RequestReceived) {
        this.proofRequests.push({ id: record.id, threadId: record.threadId, connectionId: record.connectionId, at: performance.now() })
      }
      this.notify()
    })
  }

  /**
   * Takes the next credential offer, accepts it and waits until the credential is stored. `stamps` gets
   * the target's time: waiting for the offer after the command came, and from the request sent to the
   * credential received.
   */
  async receiveCredential(connectionId: string | undefined, timeoutMs: number, stamps: Stamps): Promise<ReceiveCredentialResult> {
    const started = Date.now()
    const offer = await this.offers.take(
      (item) => connectionId === undefined || item.connectionId === connectionId,
      timeoutMs,
      'waiting for a credential offer',
    )
    const offeredAt = Date.now()
    // ContentApproved auto-accept does not accept unsolicited offers: the holder accepts it itself.
    await withTimeout(
      this.agent.credentials.acceptOffer({ credentialRecordId: offer.id }),
      remaining(started, timeoutMs),
      'accepting the credential offer',
    )
    await this.waitFor(
      () => this.credentialStates.get(offer.id),
      CredentialState.Done,
      CREDENTIAL_FAILED,
      remaining(started, timeoutMs),
      'the credential to be issued and stored',
    )
    stamps.waited(stamps.read, Math.max(stamps.read, offer.at))
    this.roundTrips.addTo(stamps, 'credential', offer.id)
    return { credentialExchangeId: offer.id, threadId: offer.threadId, ms: Date.now() - offeredAt }
  }

  /**
   * Takes the next proof request, answers it with matching credentials and waits until it is done.
   * `stamps` gets the target's time: waiting for the request after the command came, and from the
   * presentation sent to the verifier's acknowledgement.
   */
  async presentationExchange(connectionId: string | undefined, timeoutMs: number, stamps: Stamps): Promise<PresentationExchangeResult> {
    const started = Date.now()
    const request = await this.proofRequests.take(
      (item) => connectionId === undefined || item.connectionId === connectionId,
      timeoutMs,
      'waiting for a proof request',
    )
    const requestedAt = Date.now()
    let selected
    try {
      selected = await this.agent.proofs.selectCredentialsForRequest({ proofRecordId: request.id })
    } catch (error) {
      // Only revoked credentials match: a real wallet still answers, and the verifier decides.
      // Credo's selection leaves revoked AnonCreds credentials out unless told otherwise.
      try {
        selected = await this.agent.proofs.selectCredentialsForRequest({
          proofRecordId: request.id,
          proofFormats: { indy: { filterByNonRevocationRequirements: false } } as never,
        })
      } catch {
        throw new CommandError('failed', `no stored credential satisfies the proof request: ${(error as Error).message}`)
      }
    }
    await withTimeout(
      this.agent.proofs.acceptRequest({ proofRecordId: request.id, proofFormats: selected.proofFormats }),
      remaining(started, timeoutMs),
      'sending the presentation',
    )
    // Done means the verifier acknowledged the presentation, which ACA-Py does once it verified it.
    await this.waitFor(
      () => this.proofStates.get(request.id),
      ProofState.Done,
      PROOF_FAILED,
      remaining(started, timeoutMs),
      'the verifier to acknowledge the presentation',
    )
    stamps.waited(stamps.read, Math.max(stamps.read, request.at))
    this.roundTrips.addTo(stamps, 'proof', request.id)
    return { proofExchangeId: request.id, threadId: request.threadId, ms: Date.now() - requestedAt }
  }

  /** A did:key for the holder to be the subject of W3C credentials. */
  async createDidKey(): Promise<CreateDidKeyResult> {
    const result = await this.agent.dids.create({ method: 'key', options: { keyType: KeyType.Ed25519 } })
    if (result.didState.state !== 'finished' || !result.didState.did) {
      throw new CommandError('local', `creating a did:key failed: ${JSON.stringify(result.didState)}`)
    }
    return { did: result.didState.did }
  }

  private async waitFor<S extends string>(
    current: () => { state: S; error?: string } | undefined,
    done: S,
    failed: S[],
    timeoutMs: number,
    what: string,
  ): Promise<void> {
    let wake: () => void = () => undefined
    const check = (resolve: () => void, reject: (error: Error) => void) => {
      const now = current()
      if (now?.state === done) return resolve()
      if (now && failed.includes(now.state)) {
        return reject(new CommandError('failed', `the exchange ended ${now.state}: ${now.error ?? 'no reason given'}`))
      }
    }
    const settled = new Promise<void>((resolve, reject) => {
      wake = () => check(resolve, reject)
      this.settled.add(wake)
      check(resolve, reject)
    })
    try {
      await withTimeout(settled, timeoutMs, `waiting for ${what}`)
    } finally {
      this.settled.delete(wake)
    }
  }

  private notify(): void {
    for (const wake of [...this.settled]) wake()
  }
}

function remaining(started: number, timeoutMs: number): number {
  return Math.max(1, timeoutMs - (Date.now() - started))
}
