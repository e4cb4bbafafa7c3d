import { Holder } from './holder'
import { CommandError, Request } from './protocol'

/**
 * One holder slot of this process. A slot exists from `start` until its `shutdown`; while the
 * holder is starting, commands addressed to it wait for the start to finish.
 */
interface Slot {
  holder: Holder | null
  starting: Promise<Holder> | null
}

/** The handle of the holder a request without a `holder` field speaks to (the single-holder mode). */
export const DEFAULT_HANDLE = ''

const HANDLE_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Every holder this process hosts, by handle. Holders share the code and the event loop; each
 * keeps its own wallet, DIDs, mediation and connections.
 */
export class HolderHost {
  private readonly slots = new Map<string, Slot>()
  readonly startedAt = Date.now()

  constructor(readonly defaultTimeoutMs: number) {}

  get size(): number {
    return this.slots.size
  }

  get handles(): string[] {
    return [...this.slots.keys()]
  }

  /** Registers a start in progress for `handle`; the start fails if the handle is taken. */
  async start(handle: string, starting: () => Promise<Holder>): Promise<Holder> {
    if (this.slots.has(handle)) {
      throw new CommandError(
        'request',
        handle === DEFAULT_HANDLE ? 'the holder is already started' : `holder "${handle}" is already started`,
      )
    }
    const slot: Slot = { holder: null, starting: null }
    this.slots.set(handle, slot)
    slot.starting = starting()
    try {
      slot.holder = await slot.starting
      return slot.holder
    } catch (error) {
      // A failed start leaves no slot behind, so the same handle can try again.
      if (this.slots.get(handle) === slot) this.slots.delete(handle)
      throw error
    } finally {
      slot.starting = null
    }
  }

  /** The started holder of `handle`, waiting for its start when one is in progress. */
  async get(handle: string, command: string): Promise<Holder> {
    const slot = this.slots.get(handle)
    if (slot?.starting) await slot.starting.catch(() => undefined)
    const holder = this.slots.get(handle)?.holder
    if (holder) return holder
    if (handle === DEFAULT_HANDLE) throw new CommandError('request', `${command} needs a started holder; send "start" first`)
    throw new CommandError('request', `unknown holder "${handle}": it was never started here or is already shut down`)
  }

  /** The started holder of `handle`, or null; never waits. */
  peek(handle: string): Holder | null {
    return this.slots.get(handle)?.holder ?? null
  }

  /** Removes the holder of `handle` and closes its wallet; its neighbours are untouched. */
  async close(handle: string, timeoutMs: number): Promise<boolean> {
    const slot = this.slots.get(handle)
    if (!slot) return false
    if (slot.starting) await slot.starting.catch(() => undefined)
    if (this.slots.get(handle) !== slot) return false
    this.slots.delete(handle)
    if (slot.holder) await slot.holder.shutdown(timeoutMs)
    return true
  }

  /** Closes every holder, each with its own timeout; one that fails does not keep the others open. */
  async closeAll(timeoutMs: number): Promise<void> {
    await Promise.all(this.handles.map((handle) => this.close(handle, timeoutMs).catch(() => false)))
  }
}

/** The holder a request addresses: its `holder` field, or the default holder when there is none. */
export function handleOf(request: Request): string {
  const value = request.holder
  if (value === undefined || value === null) return DEFAULT_HANDLE
  if (typeof value !== 'string' || !HANDLE_PATTERN.test(value)) {
    throw new CommandError('request', '"holder" must be a handle of 1 to 128 letters, digits or . _ : -')
  }
  return value
}
