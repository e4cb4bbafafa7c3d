import './console'
import { installLoopbackGuard } from './guard'

import { Session, findHandler } from './commands'
import { log } from './log'
import { LogLevel } from '@credo-ts/core'
import { CommandError, Reply, Request, parseRequest, salvageId } from './protocol'
import { createInterface } from 'readline'

if (process.env.AKRIDA_AGENT_LOOPBACK_ONLY === '1') installLoopbackGuard()

const DEFAULT_TIMEOUT_MS = Number(process.env.AKRIDA_AGENT_TIMEOUT_MS || 60_000)

const session: Session = {
  holder: null,
  starting: null,
  defaultTimeoutMs: Number.isFinite(DEFAULT_TIMEOUT_MS) && DEFAULT_TIMEOUT_MS > 0 ? DEFAULT_TIMEOUT_MS : 60_000,
  startedAt: Date.now(),
}

function send(reply: Reply): Promise<void> {
  return new Promise((resolve) => process.stdout.write(JSON.stringify(reply) + '\n', () => resolve()))
}

function errorReply(error: unknown, request?: Partial<Request>): Reply {
  const commandError =
    error instanceof CommandError ? error : new CommandError('local', error instanceof Error ? error.message : String(error))
  if (!(error instanceof CommandError)) log(LogLevel.error, `unexpected failure: ${error instanceof Error ? error.stack : error}`)
  const reply: Reply = { error: 1, result: commandError.message, kind: commandError.kind }
  if (request?.cmd !== undefined) reply.cmd = request.cmd
  if (request?.id !== undefined) reply.id = request.id
  return reply
}

async function handle(line: string): Promise<void> {
  let request: Request
  try {
    request = parseRequest(line)
  } catch (error) {
    return send(errorReply(error, { id: salvageId(line) }))
  }
  let reply: Reply
  try {
    const result = await findHandler(request.cmd)(request, session)
    reply = { error: 0, cmd: request.cmd, result }
    if (request.id !== undefined) reply.id = request.id
  } catch (error) {
    reply = errorReply(error, request)
  }
  await send(reply)
  if (request.cmd === 'shutdown' && reply.error === 0) process.exit(0)
}

// Commands run concurrently: a long wait (a message, a credential) does not block a status query.
// Replies carry the request's id so a driver can match them when it sends more than one at a time.
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  if (line.trim() === '') return
  void handle(line)
})
lines.on('close', async () => {
  // The driver went away: release the wallet and exit rather than linger as an orphan.
  const holder = session.holder
  session.holder = null
  if (holder) await holder.shutdown(5_000).catch(() => undefined)
  process.exit(0)
})
process.on('unhandledRejection', (reason) => log(LogLevel.error, `unhandled rejection: ${reason instanceof Error ? reason.stack : reason}`))
