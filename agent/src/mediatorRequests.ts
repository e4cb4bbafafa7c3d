// What a holder asks its mediator and waits for: a trust ping (ping_mediator), the protocols it
// supports (discover_features).
import { Agent, TrustPingEventTypes } from '@credo-ts/core'
import type { TrustPingResponseReceivedEvent } from '@credo-ts/core'
import { performance } from 'perf_hooks'

import { CommandError } from './protocol'
import type * as Wire from './protocol.generated'
import { Stamps } from './stamps'
import { Inbox, withTimeout } from './wait'

interface PingResponse {
  threadId: string
  connectionId: string
  at: number // performance.now() when Credo handed it over
}

export class MediatorRequests {
  private readonly pingResponses = new Inbox<PingResponse>(100)

  /** Listens from the start: the agent's events are to be subscribed before it is initialized. */
  constructor(
    private readonly agent: Agent,
    private readonly mediated: boolean,
  ) {
    agent.events.on<TrustPingResponseReceivedEvent>(TrustPingEventTypes.TrustPingResponseReceivedEvent, ({ payload }) => {
      const at = performance.now() // the answer came: stamped before it waits for its command's turn
      this.pingResponses.push({ threadId: payload.message.threadId, connectionId: payload.connectionRecord.id, at })
    })
  }

  /**
   * A trust ping to the mediator. With `responseRequested` false it asks for no answer and returns
   * once sent: ACA-Py's implicit pickup hands back one queued message on a return-routed inbound
   * message only when no response fills the session's one-message buffer, so this is how a holder
   * asks it for the next queued message.
   */
  async ping(timeoutMs: number, responseRequested = true, stamps: Stamps = new Stamps()): Promise<Wire.PingMediatorResult> {
    const connection = await this.mediatorConnection('ping_mediator')
    const started = Date.now()
    // The target's round trip starts as the ping is handed to Credo: packing it is a few milliseconds of
    // this process's work, but the send itself may wait on the target (a WebSocket to open again).
    const sent = performance.now()
    const ping = await withTimeout(
      this.agent.connections.sendPing(connection.id, { responseRequested }),
      timeoutMs,
      'sending trust ping to the mediator',
    )
    if (responseRequested) {
      const response = await this.pingResponses.take(
        (response) => response.threadId === ping.id,
        timeoutMs - (Date.now() - started),
        'mediator trust ping response',
      )
      stamps.waited(sent, response.at)
    }
    return { connectionId: connection.id, roundTripMs: Date.now() - started }
  }

  /**
   * Asks the mediator which protocols it supports (DIDComm discover-features 1.0) whose id matches
   * `match` (`*` wildcards), and waits for its answer.
   */
  async discoverFeatures(match: string, timeoutMs: number): Promise<Wire.DiscoverFeaturesResult> {
    const connection = await this.mediatorConnection('discover_features')
    const started = Date.now()
    const { features } = await withTimeout(
      this.agent.discovery.queryFeatures({
        connectionId: connection.id,
        protocolVersion: 'v1',
        queries: [{ featureType: 'protocol', match }],
        awaitDisclosures: true,
        awaitDisclosuresTimeoutMs: timeoutMs,
      }),
      timeoutMs + 1000,
      'the mediator disclosing its features',
    )
    if (features === undefined) throw new CommandError('timeout', 'the mediator did not disclose its features in time')
    return { protocols: features.map((feature) => feature.id).sort(), ms: Date.now() - started }
  }

  private async mediatorConnection(command: string) {
    if (!this.mediated) throw new CommandError('request', `${command} needs a holder started with a mediatorInvitationUrl`)
    const connection = await this.agent.mediationRecipient.findDefaultMediatorConnection()
    if (!connection) throw new CommandError('local', 'the holder has no mediator connection')
    return connection
  }
}
