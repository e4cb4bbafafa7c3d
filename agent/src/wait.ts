import { CommandError } from './protocol'

/**
 * A wait for people, in whole seconds from one second on: the wait left to a command varies by a
 * few milliseconds from holder to holder, and failures are counted by their message, so "44990 ms"
 * and "44991 ms" would be two rows of Locust's failure table for one cause.
 */
export function roughly(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`
}

/** Rejects with a timeout CommandError when `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CommandError('timeout', `${what}: no answer within ${roughly(ms)}`)), ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}

interface Waiter<T> {
  accepts: (item: T) => boolean
  resolve: (item: T) => void
}

/**
 * A queue of things that arrived (messages, ping responses) and of commands waiting for them.
 * Items are buffered from the moment the agent starts, so an answer that arrives before the
 * command that waits for it is never lost: that race is what makes naive event waits flaky.
 */
export class Inbox<T> {
  private readonly items: T[] = []
  private readonly waiters: Waiter<T>[] = []

  constructor(private readonly capacity = 1000) {}

  push(item: T): void {
    const index = this.waiters.findIndex((waiter) => waiter.accepts(item))
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1)
      waiter.resolve(item)
      return
    }
    this.items.push(item)
    // A holder that is never asked for what it receives must not grow without bound.
    if (this.items.length > this.capacity) this.items.shift()
  }

  async take(accepts: (item: T) => boolean, ms: number, what: string): Promise<T> {
    const index = this.items.findIndex(accepts)
    if (index >= 0) return this.items.splice(index, 1)[0]
    let waiter: Waiter<T> | undefined
    const arrival = new Promise<T>((resolve) => {
      waiter = { accepts, resolve }
      this.waiters.push(waiter)
    })
    try {
      return await withTimeout(arrival, ms, what)
    } finally {
      const left = this.waiters.indexOf(waiter as Waiter<T>)
      if (left >= 0) this.waiters.splice(left, 1)
    }
  }

  /** Forgets what arrived and was not taken (waiters stay). */
  clear(): void {
    this.items.length = 0
  }

  get size(): number {
    return this.items.length
  }
}
