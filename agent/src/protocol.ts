// The wire format of the agent protocol. agent/PROTOCOL.md is the specification and
// agent/protocol.schema.json its machine-readable form, from which protocol.generated.ts is made.
import type { Arguments, CommandName, Envelope, Reply } from './protocol.generated'

export type { CommandName, Reply, Results } from './protocol.generated'

/**
 * Why a command failed, so the driver can tell its own faults from the target's:
 * - request: the command itself was wrong (malformed JSON, unknown command, bad argument, wrong state);
 * - local:   this agent failed on its own side (port in use, wallet error);
 * - timeout: a wait for the remote party ran out;
 * - failed:  the exchange with the remote party failed (refused, abandoned, problem report).
 */
export type ErrorKind = NonNullable<Reply['kind']>

export type RequestId = NonNullable<Envelope['id']>

/** A request as parsed from its line: `cmd` and `id` are checked, every other field is as the driver sent it. */
export interface Request {
  cmd: string
  id?: RequestId
  [field: string]: unknown
}

/** The fields a request for command C may carry besides `cmd` and `id`: the envelope's and C's arguments. */
type Fields<C extends CommandName> = Omit<Envelope, 'cmd' | 'id'> & Arguments[C]

/**
 * A request for command C: only the fields the schema declares for C can be read, and each is still
 * unchecked (`unknown`) until one of the readers below reads it, checking its value.
 */
export type CommandRequest<C extends CommandName> = { cmd: C; id?: RequestId } & { readonly [F in keyof Fields<C>]?: unknown }

/**
 * The names of the fields of C whose declared value is a T, so a reader of Ts reads only those.
 * (`& keyof Fields<C>` adds nothing but lets tsc see that such a name indexes a CommandRequest<C>.)
 */
type FieldOf<C extends CommandName, T> = { [F in keyof Fields<C>]-?: NonNullable<Fields<C>[F]> extends T ? F : never }[keyof Fields<C>] &
  keyof Fields<C> &
  string

export class CommandError extends Error {
  constructor(
    public readonly kind: ErrorKind,
    message: string,
  ) {
    super(message)
  }
}

// What Credo and Node say when a message could not reach the other party: the target's side.
const UNREACHED =
  /undeliverable|Unable to send message|ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EPIPE|socket hang up|fetch failed|WebSocket/i

/**
 * The kind of an error a command did not classify itself. A message that did not reach the target
 * is the target's failure (`failed`): a mediator that went away must count against the mediator,
 * not against this agent. Anything else is this agent's own (`local`).
 */
export function classify(error: unknown): CommandError {
  if (error instanceof CommandError) return error
  const message = error instanceof Error ? error.message : String(error)
  if (UNREACHED.test(message)) return new CommandError('failed', `the other party could not be reached: ${message}`)
  return new CommandError('local', message)
}

/** Parses one stdin line. Throws CommandError('request') with the id, when one could be read. */
export function parseRequest(line: string): Request {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    throw new CommandError('request', `malformed JSON: ${(error as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CommandError('request', 'a request must be a JSON object such as {"cmd": "status"}')
  }
  const request = value as Record<string, unknown>
  if (typeof request.cmd !== 'string' || request.cmd === '') {
    throw new CommandError('request', 'the request has no "cmd" string')
  }
  if (request.id !== undefined && typeof request.id !== 'string' && typeof request.id !== 'number') {
    throw new CommandError('request', '"id" must be a string or a number')
  }
  return request as Request
}

/** Reads the id of a request that failed to parse as a whole, so the error reply can echo it. */
export function salvageId(line: string): RequestId | undefined {
  try {
    const value = JSON.parse(line)
    if (value && (typeof value.id === 'string' || typeof value.id === 'number')) return value.id
  } catch {
    // not JSON at all: nothing to echo
  }
  return undefined
}

export function optionalString<C extends CommandName>(request: CommandRequest<C>, name: FieldOf<C, string>): string | undefined {
  const value: unknown = request[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' || value === '') {
    throw new CommandError('request', `"${name}" must be a non-empty string`)
  }
  return value
}

export function requiredString<C extends CommandName>(request: CommandRequest<C>, name: FieldOf<C, string>): string {
  const value = optionalString(request, name)
  if (value === undefined) throw new CommandError('request', `"${name}" is required for ${request.cmd}`)
  return value
}

export function optionalBoolean<C extends CommandName>(request: CommandRequest<C>, name: FieldOf<C, boolean>): boolean | undefined {
  const value: unknown = request[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'boolean') throw new CommandError('request', `"${name}" must be true or false`)
  return value
}

export function optionalInteger<C extends CommandName>(
  request: CommandRequest<C>,
  name: FieldOf<C, number>,
  min: number,
  max: number,
): number | undefined {
  const value: unknown = request[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CommandError('request', `"${name}" must be an integer from ${min} to ${max}`)
  }
  return value
}

export function requiredStrings<C extends CommandName>(request: CommandRequest<C>, name: FieldOf<C, string[]>, most: number): string[] {
  const value: unknown = request[name]
  if (!Array.isArray(value) || value.length === 0 || value.length > most || !value.every((item) => typeof item === 'string')) {
    throw new CommandError('request', `"${name}" must be a list of 1 to ${most} strings`)
  }
  return value as string[]
}
