// An offline JSON-LD document loader. Credentials and presentations reference JSON-LD contexts by
// URL; a load generator must neither fetch them from the network on every signature (that would
// measure the context host, and leak traffic) nor silently accept unknown ones. Contexts bundled
// with Credo and DID documents resolve locally; anything else is a clear error.
import type { AgentContext } from '@credo-ts/core'
import { defaultDocumentLoader } from '@credo-ts/core/build/modules/vc/data-integrity/libraries/documentLoader'
import { DEFAULT_CONTEXTS } from '@credo-ts/core/build/modules/vc/data-integrity/libraries/contexts'

type DocumentLoader = ReturnType<typeof defaultDocumentLoader>

export function offlineDocumentLoader(agentContext: AgentContext): DocumentLoader {
  const resolveLocally = defaultDocumentLoader(agentContext)
  return async (url: string) => {
    const withoutFragment = url.split('#')[0]
    if (withoutFragment in DEFAULT_CONTEXTS || url.startsWith('did:')) return resolveLocally(url)
    throw new Error(`offline document loader: ${url} is not a bundled JSON-LD context; Akrida never fetches contexts from the network`)
  }
}
