import './console'
import { installEgressGuard, refusalSince, refusalsSoFar } from './guard'

import { runCommand } from './commands'
import { DEFAULT_HANDLE, HolderHost, handleOf } from './host'
import { log } from './log'
import { LogLevel } from '@credo-ts/core'
import { CommandError, Reply, Request, classify, parseRequest, salvageId } from './protocol'
import { readFileSync } from 'fs'
import { performance } from 'perf_hooks'
import { Stamps, watchEventLoop } from './stamps'
import { createInterface } from 'readline'

installEgressGuard()
watchEventLoop()

const DEFAULT_TIMEOUT_MS = Number(process.env.AKRIDA_AGENT_TIMEOUT_MS || 60_000)
const PARENT_CHECK_MS = 2_000
const CLOSE_ALL_MS = 5_000 // each holder's wallet gets this long to close when the process ends
const EXIT_GRACE_MS = 5_000

const host = new HolderHost(Number.isFinite(DEFAULT_TIMEOUT_MS) && DEFAULT_TIMEOUT_MS > 0 ? DEFAULT_TIMEOUT_MS : 60_000)

function send(reply: Reply): Promise<void> {
  return new Promise((resolve) => process.stdout.write(JSON.stringify(reply) + '\n', () => resolve()))
}

function errorReply(error: unknown, request?: Partial<Request>): Reply {
  const commandError = classify(error)
  if (commandError.kind === 'local' && !(error instanceof CommandError)) {
    log(LogLevel.error, `unexpected failure: ${error instanceof Error ? error.stack : error}`)
  }
  const reply: Reply = { error: 1, result: commandError.message, kind: commandError.kind }
  echo(reply, request)
  return reply
}

function echo(reply: Reply, request?: Partial<Request>): void {
  if (request?.cmd !== undefined) reply.cmd = request.cmd
  if (request?.id !== undefined) reply.id = request.id
  if (typeof request?.holder === 'string') reply.holder = request.holder
}

async function handle(line: string, read: number): Promise<void> {
  const stamps = new Stamps(read)
  let request: Request
  let handle: string
  try {
    request = parseRequest(line)
  } catch (error) {
    return send({ ...errorReply(error, { id: salvageId(line) }), timing: stamps.timing() })
  }
  let reply: Reply
  const refusals = refusalsSoFar()
  try {
    handle = handleOf(request)
    const result = await runCommand({ request, host, handle, stamps })
    reply = { error: 0, result }
    echo(reply, request)
  } catch (error) {
    // A connection the guard refused surfaces as an unreachable party: it is this agent's doing.
    reply = errorReply(refusalSince(refusals) ?? error, request)
  }
  reply.timing = stamps.timing()
  await send(reply)
  // Only the handle-less shutdown ends the process; a named holder's shutdown closes its wallet alone.
  if (request.cmd === 'shutdown' && reply.error === 0 && handleOf(request) === DEFAULT_HANDLE) process.exit(0)
}

// Commands run concurrently, for one holder and across holders: a long wait (a message, a
// credential) blocks nothing else. Replies carry the request's id (and holder) so the driver can
// match them when it sends more than one at a time.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  if (line.trim() === '') return
  void handle(line, performance.now())
})
lines.on('close', () => void leave('end of stdin'))

// The driver is the parent process. Killed outright, it may leave no end of stdin behind (another
// process can still hold the pipe), so its disappearance is watched for as well. Its pid is given by
// the driver (or noted by launch.ts) rather than read here, after the bundle's seconds of loading.
const driver = Number(process.env.AKRIDA_DRIVER_PID) || process.ppid
setInterval(() => {
  if (!driverAlive()) void leave(`the driver (pid ${driver}) is gone`)
}, PARENT_CHECK_MS).unref()

/** Node's process.ppid is read once at start: the parent of now comes from /proc where there is one. */
function driverAlive(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8') // "pid (command) state ppid …"
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === driver
  } catch {
    try {
      process.kill(driver, 0) // elsewhere: does a process of that pid still exist?
      return true
    } catch {
      return false
    }
  }
}

let leaving = false

/** Releases every wallet and exits, however stuck a holder is: nothing of a run may outlive it. */
async function leave(why: string): Promise<void> {
  if (leaving) return
  leaving = true
  log(LogLevel.info, `exiting: ${why}`)
  // Closing is bounded per holder, but exiting must not depend on it (a native call that never
  // returns, a wedged event loop): past the deadline the process ends itself without clean-up.
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), CLOSE_ALL_MS + EXIT_GRACE_MS).unref()
  await host.closeAll(CLOSE_ALL_MS)
  process.exit(0)
}
// One holder's stray failure (a socket error thrown from a Credo callback) must not take its
// neighbours down with the process: log it and carry on. The command that depended on it times out.
process.on('unhandledRejection', (reason) => log(LogLevel.error, `unhandled rejection: ${reason instanceof Error ? reason.stack : reason}`))
process.on('uncaughtException', (error) => log(LogLevel.error, `uncaught exception: ${error.stack ?? error}`))
