// Keeps Askar's Node.js wrapper (@hyperledger/aries-askar-nodejs 0.2.3) from capturing a stack
// trace for an error nobody sees, on every wallet call that returns something.
//
// The wrapper's callback for such a call resolves its promise with the result and then, falling
// through, rejects it with `AriesAskarError.customError({ message: 'could not parse return type
// properly …' })`. The promise is already resolved, so the rejection is ignored, but the error is
// built every time, with its stack trace: a holder start makes hundreds of these calls (about 4 ms
// of CPU per start). Made inside a native callback, that stack would hold only the callback's own
// frames anyway. Only this one message is made without a stack; every other error is untouched.
// With another wrapper version nothing is changed.
import { AriesAskarError } from '@hyperledger/aries-askar-shared'
import { version } from '@hyperledger/aries-askar-nodejs/package.json'

import { LEAKY_VERSION } from './askarLeaks'

/** The start of the message of the error the wrapper makes after every answered call. */
export const DISCARDED_ERROR = 'could not parse return type properly'

let applied: boolean | undefined

/** Makes the wrapper's discarded error without a stack trace, once per process; false on another version. */
export function skipDiscardedErrorStacks(): boolean {
  if (applied !== undefined) return applied
  applied = version === LEAKY_VERSION
  if (!applied) return false
  const errors = AriesAskarError as unknown as { customError: (options: { message: string }) => AriesAskarError }
  const customError = errors.customError
  errors.customError = function (this: unknown, options) {
    if (typeof options?.message !== 'string' || !options.message.startsWith(DISCARDED_ERROR)) return customError.call(this, options)
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      return customError.call(this, options)
    } finally {
      Error.stackTraceLimit = limit
    }
  }
  return true
}
