// The reference server the tests measure against: the real `ispeed-server` binary,
// started on a free loopback port and stopped (by its own process handle) afterwards.
package org.ispeed.test

import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.util.concurrent.TimeUnit

/** A running `ispeed-server` emulating a mobile link, with its collector. */
class ReferenceServer private constructor(private val process: Process, val url: String) : AutoCloseable {
    /** Its process id, for logs. */
    val pid: Long get() = process.pid()

    /** Stops it: SIGTERM, then SIGKILL if it lingers. */
    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
    }

    companion object {
        /**
         * Starts the binary named by the system property `ispeed.server` on a free
         * port with the link given in Mbit/s and ms, and waits until it accepts.
         */
        fun start(downMbps: Int, upMbps: Int, rttMs: Int): ReferenceServer {
            val binary = System.getProperty("ispeed.server")
                ?: throw IllegalStateException("-Dispeed.server=<path of ispeed-server> is not set")
            // Port 0 picks a free port; closing the probe frees it for the server. The
            // race with other processes is short and shows up as a clear start failure.
            val port = ServerSocket(0).use { it.localPort }
            // The collector keeps what it receives in a file of its own, not in the
            // user's data directory.
            val collectorDb = scratchDir("ispeed-collector").resolve("collector.db")
            val process = ProcessBuilder(
                binary, "--listen", "127.0.0.1:$port",
                "--down-mbps", "$downMbps", "--up-mbps", "$upMbps", "--rtt-ms", "$rttMs",
                "--collector-db", collectorDb.toString(),
                // A lab: this server signs no receipts, so its samples are unattested,
                // and the tests check the phone's journey, not the trust checks
                // (cli/tests/trust.rs does, docs/trust.md).
                "--count-unattested",
            ).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
            val server = ReferenceServer(process, "http://127.0.0.1:$port")
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
            while (System.nanoTime() < deadline) {
                if (!process.isAlive) throw IllegalStateException("ispeed-server exited: ${process.exitValue()}")
                try {
                    Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 200) }
                    return server
                } catch (_: java.io.IOException) {
                    Thread.sleep(50)
                }
            }
            server.close()
            throw IllegalStateException("ispeed-server did not listen on port $port within 10 s")
        }
    }
}
