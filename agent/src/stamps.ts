import { IntervalHistogram, monitorEventLoopDelay, performance } from 'perf_hooks'

/**
 * When a command's line was read, when its message left for the target and when the target's answer
 * came, all on this process's monotonic clock (performance.now(), ms). The driver times a command from
 * its own side, which adds its queueing (gevent, the pipe, this process's event loop shared by every
 * holder here); these stamps let it tell the target's round trip apart from that.
 */
export class Stamps {
  sent?: number
  answered?: number

  constructor(readonly read: number = performance.now()) {}

  /** The reply's `timing`: this agent's whole handling, and the target's round trip when both ends were stamped. */
  timing(): Timing {
    const timing: Timing = { agentMs: round(performance.now() - this.read) }
    if (this.sent !== undefined && this.answered !== undefined) {
      timing.targetMs = round(Math.max(0, this.answered - this.sent))
    }
    return timing
  }
}

export interface Timing {
  agentMs: number
  targetMs?: number
}

const round = (ms: number) => Math.round(ms * 1000) / 1000

// How often the event loop is checked for lateness: every RESOLUTION_MS a timer is due, and how late
// it fires is the loop's delay (what every holder of this process waited, in turn, for its callbacks).
const RESOLUTION_MS = 10
let histogram: IntervalHistogram | null = null
let periodStart = performance.now()

export function watchEventLoop(): void {
  histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  histogram.enable()
  periodStart = performance.now()
}

export interface LoopDelay {
  p50Ms: number
  p99Ms: number
  maxMs: number
  meanMs: number
  periodMs: number
}

/** The event loop's delay since the previous call (or since the start), then a new period begins. */
export function takeLoopDelay(): LoopDelay {
  const now = performance.now()
  const periodMs = round(now - periodStart)
  periodStart = now
  if (histogram === null || histogram.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0, periodMs }
  // Node records each interval between the timer's runs (the resolution plus the lateness): keep the lateness.
  const late = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS))
  const delay = {
    p50Ms: late(histogram.percentile(50)),
    p99Ms: late(histogram.percentile(99)),
    maxMs: late(histogram.max),
    meanMs: late(histogram.mean),
    periodMs,
  }
  histogram.reset()
  return delay
}
