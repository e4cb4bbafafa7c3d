// stdout belongs to the JSON-lines protocol alone. Credo's ConsoleLogger (and any stray
// console.log in a dependency) would corrupt it, so every console method writes to stderr.
// This module must be the first import of main.ts so the redirect precedes any logging.
for (const method of ['log', 'info', 'debug', 'warn', 'trace'] as const) {
  console[method] = console.error
}

export {}
