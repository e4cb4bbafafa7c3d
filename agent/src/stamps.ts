import { IntervalHistogram, monitorEventLoopDelay, performance } from 'perf_hooks'

import type { EventLoopDelayResult, Reply } from './protocol.generated'

/**
 * When a command's line was read, and how long within it the command waited on the target: from the
 * moment each of its messages left for the target to the moment the answer came, all on this process's
 * monotonic clock (performance.now(), ms). The driver times a command from its own side, which adds its
 * queueing (gevent, the pipe, this process's event loop shared by every holder here); these stamps let
 * it tell the target's time apart from that.
 */
export class Stamps {
  private targetMs = 0
  private waits = 0

  constructor(readonly read: number = performance.now()) {}

  /** The command waited on the target from `sent` until `answered` (a start waits twice: connection, grant). */
  waited(sent: number, answered: number): void {
    this.targetMs += Math.max(0, answered - sent)
    this.waits += 1
  }

  /** The reply's `timing`: this agent's whole handling, and the target's time when the command waited on it. */
  timing(): Timing {
    const timing: Timing = { agentMs: round(performance.now() - this.read) }
    if (this.waits > 0) timing.targetMs = round(this.targetMs)
    return timing
  }
}

export type Timing = NonNullable<Reply['timing']>

const round = (ms: number) => Math.round(ms * 1000) / 1000

/**
 * Now on the host's monotonic clock, in ms: CLOCK_MONOTONIC, the clock every process of the host reads
 * alike (Python's time.monotonic() too), unlike performance.now(), which counts from this process's
 * start. For moments the driver compares across processes: a forward posted by the sender's process and
 * received by a holder's.
 */
export function hostClockMs(): number {
  return round(Number(process.hrtime.bigint()) / 1e6)
}

// How often the event loop is checked for lateness: every RESOLUTION_MS a timer is due, and how late
// it fires is the loop's delay (what every holder of this process waited, in turn, for its callbacks).
const RESOLUTION_MS = 10
let histogram: IntervalHistogram | null = null
let periodStart = performance.now()
// Node's histogram drops the first interval after each reset (it has no previous run to measure from),
// so a stall that begins just after a sample would go unseen: the longest lateness is also kept here,
// from a timer of our own, and the interval still open when a sample is taken counts too.
let lastTick = performance.now()
let worstLateMs = 0

export function watchEventLoop(): void {
  histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  histogram.enable()
  periodStart = lastTick = performance.now()
  setInterval(() => {
    const now = performance.now()
    worstLateMs = Math.max(worstLateMs, now - lastTick - RESOLUTION_MS)
    lastTick = now
  }, RESOLUTION_MS).unref()
}

/** The event loop's delay since the previous call (or since the start), then a new period begins. */
export function takeLoopDelay(): EventLoopDelayResult {
  const now = performance.now()
  const periodMs = round(now - periodStart)
  periodStart = now
  const worst = round(Math.max(0, worstLateMs, now - lastTick - RESOLUTION_MS))
  worstLateMs = 0
  if (histogram === null || histogram.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: worst, meanMs: 0, periodMs }
  // Node records each interval between the timer's runs (the resolution plus the lateness): keep the lateness.
  const late = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS))
  const delay = {
    p50Ms: late(histogram.percentile(50)),
    p99Ms: late(histogram.percentile(99)),
    maxMs: Math.max(late(histogram.max), worst),
    meanMs: late(histogram.mean),
    periodMs,
  }
  histogram.reset()
  return delay
}
