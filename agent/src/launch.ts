// Entry point of the agent process: runs the bundled agent (dist/bundle.js) through V8's code cache.
//
// The @hyperledger/* packages stay outside the bundle: the native wrappers register themselves in
// their *-shared package, and Credo must see that same single copy from node_modules.
//
// A holder's start-up is CPU-bound module loading: Credo's ~1,800 CommonJS files cost about 1.7 s of
// CPU per process. Bundling them into one file (esbuild) and reusing V8's compiled code for it
// (dist/bundle.js.cache, written once at build time) brings that to about 0.6 s, which decides how
// many holders a load generator can start per second. Without a valid cache the bundle still runs,
// only slower; with AKRIDA_AGENT_WRITE_CODE_CACHE=1 this process writes the cache (the build does).
import fs from 'fs'
import Module from 'module'
import path from 'path'
import vm from 'vm'

// The driver's pid, before the seconds of loading below: a driver killed meanwhile would otherwise
// leave an orphan that takes its new parent for its driver (main.ts watches for the driver to go).
process.env.AKRIDA_DRIVER_PID ??= String(process.ppid)

const bundle = path.join(__dirname, 'bundle.js')
const cacheFile = `${bundle}.cache`
const writeCache = process.env.AKRIDA_AGENT_WRITE_CODE_CACHE === '1'

let cachedData: Buffer | undefined
if (!writeCache) {
  try {
    cachedData = fs.readFileSync(cacheFile)
  } catch {
    // no cache yet: compile from source
  }
}

const script = new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, cachedData })
const bundleModule = new Module(bundle, module)
bundleModule.filename = bundle
// Resolve the bundle's external requires (native addons) from agent/node_modules.
;(bundleModule as unknown as { paths: string[] }).paths = (
  Module as unknown as { _nodeModulePaths: (from: string) => string[] }
)._nodeModulePaths(__dirname)
const run = script.runInThisContext() as (...args: unknown[]) => void
run.call(bundleModule.exports, bundleModule.exports, (id: string) => bundleModule.require(id), bundleModule, bundle, __dirname)

if (writeCache) {
  // After the top-level run, so the cache holds every function that start-up compiled.
  fs.writeFileSync(cacheFile, script.createCachedData())
}
